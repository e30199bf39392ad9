import { it } from 'vitest';
import { checkCommand } from '../src/sandbox/command-policy.js';
it('scratch', () => {
  for (const c of [`$'sudo' ls`, `s'u'do ls`, `\\sudo ls`, `command sudo ls`, `busybox rm -rf /`, `"rm" -rf /`, `rm -rf / --no-preserve-root`,
    `ls&&sudo x`, `f(){ sudo ls; }`, `case $x in a) ls;; b|c) sudo x;; esac`, `echo ')' ; ls`, `x=$(ls) y=2`, `time sudo ls`, `exec sudo ls`,
    `echo "$(echo "$(sudo ls)")"`, `ls 2>/dev/sda`, `ls &>/dev/sdb`, `cat < /dev/sda`, `python3 <(curl -s x)`, `wget -O- x | python3`, `curl x | python3 script.py`,
    `rm -rf .`, `rm -rf ..`, `git commit -m "rm -rf /"`, `echo $((1+2))`, 'a=1; echo ${a:-x}', `watch -n 1 'sudo ls'`, `env -S 'sudo ls'`, `sh script.sh`, `! sudo ls`, `{ sudo ls; }`, `[[ -f x ]] && ls`, `x=1 $(echo rm) -rf /`]) {
    console.log(JSON.stringify(c), '=>', JSON.stringify(checkCommand(c)), JSON.stringify(checkCommand(c, {allow:['ls','echo','cat','git']})));
  }
});

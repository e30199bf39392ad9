/**
 * The run loop's sleep between polls. A poke (an event hint, a control call, a review that ended)
 * cuts it short, so the loop reacts at once to what this process sees and polls only for the rest.
 */
export class PokeableSleep {
  private wake: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

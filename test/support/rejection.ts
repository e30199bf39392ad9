/** The error a promise rejects with; fails the test if it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Asserts the promise rejects with a ColonyError of this code whose message matches. */
export async function expectRejection(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = (await rejectionOf(promise)) as { code?: string; message?: string };
  if (error.code !== code || !message.test(error.message ?? '')) {
    throw new Error(`expected a ${code} error matching ${String(message)}, got ${error.code ?? 'no code'}: ${error.message ?? String(error)}`);
  }
}

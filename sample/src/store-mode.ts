/** `SESSION_STORE=cookie` runs the sample in stateless mode (`store: 'cookie'`). */
export function isStateless(): boolean {
  const mode = process.env.SESSION_STORE ?? '';
  if (mode !== '' && mode !== 'cookie') {
    throw new Error(`SESSION_STORE must be 'cookie' or unset, not '${mode}'`);
  }
  return mode === 'cookie';
}

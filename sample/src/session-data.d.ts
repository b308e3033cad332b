export {}; // a module: the block below adds to the package's types

declare module 'nest-secure-session' {
  interface SessionData {
    /** A one-time notice for the next page view (set after a form post, shown once). */
    flash: string;
  }
}

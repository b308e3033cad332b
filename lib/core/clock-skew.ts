/**
 * How far another instance's clock may run ahead of this one's, in ms. A sealed cookie whose
 * creation or last activity lies further in the future than this is refused as forged; the
 * in-process revocation store relies on the same bound when it has to make room.
 */
export const CLOCK_SKEW_MS = 5_000;

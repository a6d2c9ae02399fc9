/* global jest */
// e2e and integration hooks boot whole apps, engines or fakes: on a busy 2-core CI machine that has taken
// more than Jest's default 5 s (two replicas booting at once). Tests that need less say so themselves.
jest.setTimeout(30_000);

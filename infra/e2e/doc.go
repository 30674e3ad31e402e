// Package e2e holds the end-to-end tests: each starts its own local stack
// (infra/local) on free loopback ports with the real built functions, the
// real state machine and the real template, and drives referrals through
// the public HTTP API exactly as marketing sites and CRMs do.
package e2e

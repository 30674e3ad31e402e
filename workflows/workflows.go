// Package workflows embeds the Step Functions definitions (ASL, JSONPath)
// that template.yaml deploys, so tests read the same bytes SAM ships.
package workflows

import _ "embed"

// Referral is workflows/referral.asl.json: one execution per referral.
//
//go:embed referral.asl.json
var Referral []byte

package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/kpis"
)

// The KPI state of a CRM deal no referral is linked to (internal/kpis
// lift.go), beside the counters:
//
//	KPI-DEAL#<program>#<deal key> / STATE   what was seen and counted of
//	                                        the deal (kpis.DealState,
//	                                        versioned; ids, times, amounts)

func kpiDealKey(program, deal string) map[string]types.AttributeValue {
	return key("KPI-DEAL#"+program+"#"+deal, "STATE")
}

// KPIDealState returns what was seen and counted of deal (an
// events.DealKey) for program (the zero DealState when nothing was), read
// consistently.
func (st *Store) KPIDealState(ctx context.Context, program, deal string) (kpis.DealState, error) {
	var state kpis.DealState
	err := st.readKPIState(ctx, kpiDealKey(program, deal), &state, "kpi deal state")
	return state, err
}

// ApplyKPIDealEvent adds changes to the counters of program and replaces
// the deal's state with next (written only if its version is still
// next.Version-1), in one transaction with a marker of eventID, like
// ApplyKPIEvent: applied=false and nothing written when the event was
// applied before, ErrKPIStateChanged when the state moved meanwhile.
func (st *Store) ApplyKPIDealEvent(ctx context.Context, eventID, program, deal string, changes []kpis.Change, next kpis.DealState, now time.Time) (bool, error) {
	put, err := st.kpiStatePut(kpiDealKey(program, deal), next, next.Version, "kpi deal state")
	if err != nil {
		return false, err
	}
	return st.applyKPI(ctx, "kpi deal event", eventID, program, &put, changes, now)
}

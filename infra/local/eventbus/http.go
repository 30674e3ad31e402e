package eventbus

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Path is where the stack's HTTP front serves the bus's events.
const Path = "/_local/events"

// DefaultLimit is how many events GET /_local/events answers without ?limit.
const DefaultLimit = 1000

// Handler serves GET /_local/events: the events the bus accepted, newest
// first, as a JSON array of {"id","event_bus","source","detail_type",
// "detail","time","deliveries"}. Query parameters narrow it: detail_type
// and source (repeated or comma-separated), referral_id (the detail's),
// limit (default DefaultLimit). A bad limit answers 400.
func (b *Bus) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := Filter{DetailTypes: list(q["detail_type"]), Sources: list(q["source"]), ReferralID: q.Get("referral_id"), Limit: DefaultLimit}
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
					"code": "invalid_request", "message": "limit must be a positive whole number", "fields": map[string]string{"limit": "not a positive whole number"},
				}})
				return
			}
			f.Limit = n
		}
		w.Header().Set("Content-Type", "application/json")
		if d := b.Dropped(); d > 0 {
			w.Header().Set("X-Referflow-Events-Dropped", strconv.Itoa(d))
		}
		_ = json.NewEncoder(w).Encode(b.Events(f))
	})
}

func list(values []string) []string {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// PrintSummary writes the bus's lines of the stack's human summary: where
// its events are shown and which rule delivers to which function.
func (b *Bus) PrintSummary(w io.Writer, api string, buses []string) {
	fmt.Fprintf(w, "  events        %s%s   (EventBridge buses %s: every event put, newest first; ?detail_type= &referral_id= &limit=)\n",
		api, Path, strings.Join(buses, ", "))
	for _, r := range b.opts.Rules {
		fmt.Fprintf(w, "    rule %-28s -> %s\n", r.Name, r.Target)
	}
}

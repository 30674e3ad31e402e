// Package providers is the list of every CRM provider Referflow serves. The
// webhook function, program validation, the local stack's settings and the
// signer CLI iterate it; adding a CRM is its own package under internal/crm
// (exporting one crm.Provider) plus one line in All.
package providers

import (
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/crm/salesforce"
)

// All returns every provider, in the order the docs list them. The slice is
// new at each call: callers may keep or change it.
func All() []crm.Provider {
	return []crm.Provider{
		hubspot.Provider,
		salesforce.Provider,
		pipedrive.Provider,
		generic.Provider,
	}
}

// Names returns every provider's name, in All's order (the providers a
// program's stage match may name).
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name
	}
	return names
}

// Find returns the provider named name (the path segment of
// POST /webhooks/{provider}), and whether there is one.
func Find(name string) (crm.Provider, bool) {
	for _, p := range All() {
		if p.Name == name {
			return p, true
		}
	}
	return crm.Provider{}, false
}

package program

import "regexp"

// Option changes what Load and Validate accept.
type Option func(*rules)

// rules are the checks Options set.
type rules struct {
	providers []string // nil: any well-formed provider name
}

// providerPattern is what a provider name looks like (a path segment of
// POST /webhooks/{provider}).
var providerPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Providers restricts the providers a stage match may name to names, in
// the order error messages list them. Pass the CRM provider registry's
// names (internal/crm/providers.Names): that list is the one place
// providers are named, and program cannot import it (crm imports program).
// Without this option any well-formed lower-case name is accepted, and a
// name no provider serves never matches an event.
func Providers(names ...string) Option {
	return func(r *rules) { r.providers = append([]string(nil), names...) }
}

func newRules(opts []Option) rules {
	var r rules
	for _, o := range opts {
		o(&r)
	}
	return r
}

// checkProvider reports a stage match's provider that the rules refuse.
func (r rules) checkProvider(provider, path string, ps *problems) {
	switch {
	case r.providers != nil && !oneOf(provider, r.providers):
		ps.add(path, "unknown provider %q (want %s)", provider, want(r.providers))
	case r.providers == nil && !providerPattern.MatchString(provider):
		ps.add(path, "%q is not a provider name (a-z, 0-9, - and _, starting with a letter)", provider)
	}
}

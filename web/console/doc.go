// Package console is the operator console (/console): server-rendered
// pages for the people who run a referral program. Operators are listed
// by the deployment (REFERFLOW_OPERATOR_EMAILS) and sign in by an emailed
// link, like partners in the portal (web/websession holds the shared
// cookie, CSRF, origin and token rules).
//
// Guarantees:
//   - A sign-in request answers the same page whether or not the email is
//     an operator's; links are one-time, expire after SignInLinkTTL and are
//     stored only hashed. Requests are limited per email and per IP address
//     (their keyed hashes).
//   - A session is a random id in the cookie __Secure-referflow_console
//     (HttpOnly, Secure, SameSite=Lax, Path=/console), stored only hashed,
//     of kind operator (a portal session never opens the console), expiring
//     after SessionTTL.
//   - Every POST carries the session's CSRF token and is refused from
//     another origin (Origin, else Referer).
//   - Every action is written to the audit log (store.AuditEntry) with the
//     operator's email, the action, the target ids and the time.
//   - Every answer is HTML with a strict Content-Security-Policy, never
//     cached; every asset is embedded and served from /console/assets/.
//
// # Adding a section (the seam for partners, programs, exports, KPIs)
//
// A section is a set of pages under one route prefix, in its own file of
// this package (partners.go, programs.go, exports.go, kpis.go) with its own
// templates (templates/<name>.html, each defining "content"; the layout
// template "layout" wraps it with the navigation). A file registers its
// section from init:
//
//	func init() {
//		Register(Section{
//			Prefix: "/partners",     // below /console; matches /partners and /partners/...
//			Nav:    "Partners",      // the navigation entry it lights up
//			Serve:  servePartners,
//		})
//	}
//
//	// servePartners answers every request under /console/partners for a
//	// signed-in operator; a POST has already passed the CSRF and origin
//	// checks.
//	func servePartners(h *Handler, r *Request) apigw.Response {
//		// r.Op is the signed-in operator (r.Op.Email), r.Path the path below
//		// /console ("/partners/abc"), r.Method, r.Query(name),
//		// r.Value(name) a posted field, r.Ctx, r.Log.
//		if r.Method == http.MethodPost {
//			// ... do it through the same operation as the admin API, then
//			if err := h.Audit(r, "partner.disable", "program", "p1", "partner", "abc"); err != nil { ... }
//			return SeeOther("/console/partners/abc?done=disabled")
//		}
//		return h.Render(r, http.StatusOK, "partners", "Partners", data)
//	}
//
// What a section gets from the Handler:
//   - h.Render(r, status, page, title, data): page is the template file's
//     name without .html; the template sees .Title, .Op (the operator),
//     .CSRF (put it in every form as <input type="hidden" name="csrf"
//     value="{{.CSRF}}">), .Nav, .Data. Shared partials in layout.html:
//     "flash" (a notice from ?done=), "csrf" (the hidden field).
//   - h.ErrorPage(r, status, title, text), h.NotFound(r), h.Unavailable(r).
//   - h.Audit(r, action, targets ...string) writes an audit entry for the
//     signed-in operator (targets in name, value pairs); use it after any
//     action that could not write its audit item in its own transaction.
//   - h.Deps: the operations a section may need (stores, services) are
//     fields of Handler; add the field you need with a consumer interface
//     of your own in your file (e.g. PartnersStore) and set it in
//     functions/console/main.go.
//   - SeeOther(location, cookies...) answers 303.
//
// Nav entries, in order: Queues (/console), Referrals, Partners, Programs,
// KPIs, Experiments, Exports, Audit. An entry whose section is not
// registered is shown without a link.
package console

// Package docs holds Referflow's public contract, next to the test that
// keeps it true. It has no code of its own.
//
//   - api.md: the HTTP API in prose (routes, request bodies, answers, error
//     codes, referral and reward statuses, settings and secrets).
//   - openapi.yaml: the same HTTP API as an OpenAPI 3.1 document.
//   - crm/: how to connect each CRM to POST /webhooks/{provider}.
//   - events.md: the domain events published to EventBridge (every detail
//     type, its data and its JSON Schema); events_test.go checks that every
//     events.Type is described and that each schema accepts the events the
//     code makes.
//
// contract_test.go checks that:
//
//   - every HttpApi route of template.yaml (each event's Method and Path) is
//     described in api.md (a "## METHOD /path" heading) and in openapi.yaml
//     (under paths), and that neither describes a route the template does
//     not have;
//   - the error codes of api.md's "Error codes" table and of openapi.yaml's
//     ErrorDetail code enum are exactly the codes that non-test Go code under
//     functions/ and internal/ passes to apigw.Error (directly, or through a
//     helper that hands one of its parameters on as the code);
//   - every REFERFLOW_ setting, secret or function variable that non-test
//     code under functions/ or internal/ names, or template.yaml sets, is
//     named in api.md, and api.md names none that nothing reads;
//   - openapi.yaml is a well-formed OpenAPI 3.1 document (required fields,
//     resolvable $refs, declared path parameters and security schemes).
//
// Pass error codes to apigw.Error as string literals or string constants:
// the test reads them from the source and fails on a code it cannot read.
package docs

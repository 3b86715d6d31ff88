// Package policy parses IAM policy documents and decides, the way AWS does
// for a single account, whether a request is allowed by the identity,
// resource, session and boundary policies that apply to it.
//
// The package is pure: documents come in as JSON text, requests as values,
// and decisions go out as values. Storing policies, attaching them to users
// and roles, and answering API calls are the caller's business.
//
// Where AWS documents a behaviour it is followed: explicit Deny wins over
// any Allow; an Allow in an identity policy or in a resource policy whose
// Principal names the caller grants access; session policies and
// permissions boundaries cap what identity policies grant; condition keys
// are case-insensitive; ForAllValues is true for a missing key and
// ForAnyValue false; a negated operator with several values is a NOR.
package policy

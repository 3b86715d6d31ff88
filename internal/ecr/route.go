package ecr

import (
	"net/http"
	"net/url"

	v2 "github.com/distribution/distribution/v3/registry/api/v2"
	"github.com/distribution/reference"
	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"
)

// Registry requests are parsed once, with the registry library's own route
// patterns, into the repository they address and what they do there. A
// repository name may contain any of the path words the routes use
// (x/blobs/uploads, a/manifests/b): only the full pattern of a route tells
// where the name ends.

// routeKind is what a /v2/ request addresses.
type routeKind int

const (
	routeNone        routeKind = iota // no registry route matches
	routeBase                         // /v2/
	routeCatalog                      // /v2/_catalog
	routeTags                         // /v2/<name>/tags/list
	routeManifest                     // /v2/<name>/manifests/<reference>
	routeBlob                         // /v2/<name>/blobs/<digest>
	routeUpload                       // /v2/<name>/blobs/uploads/
	routeUploadChunk                  // /v2/<name>/blobs/uploads/<uuid>
	routeReferrers                    // /v2/<name>/referrers/<digest>
)

// registryRoute is a parsed registry request path.
type registryRoute struct {
	kind routeKind
	// repository is the repository name; empty for the base and catalog.
	repository string
	// reference is the manifest's tag or digest, the blob's or referrers'
	// digest, or the upload's id.
	reference string
}

// Route names of the patterns Berth adds after the library's: the
// referrers API (the library has none); manifests and blobs whose
// reference is outside the grammar, so that they are still authorized
// against their repository and answered with a registry error (see
// checkRequest); and every route with a name outside the grammar, answered
// NAME_INVALID.
const (
	routeNameReferrers   = "berth-referrers"
	routeNameBadManifest = "berth-manifest-bad-reference"
	routeNameBadBlob     = "berth-blob-bad-digest"
	routeNameBadName     = "berth-bad-name-"
)

// badNameRoutes are the routes matched with any repository name.
var badNameRoutes = []struct {
	suffix string
	kind   routeKind
}{
	{"/tags/list", routeTags},
	{"/manifests/{reference:[^/]+}", routeManifest},
	{"/blobs/uploads/", routeUpload},
	{"/blobs/uploads/{uuid:[^/]+}", routeUploadChunk},
	{"/blobs/{digest:[^/]+}", routeBlob},
	{"/referrers/{digest:[^/]+}", routeReferrers},
}

var routeKinds = map[string]routeKind{
	v2.RouteNameBase:            routeBase,
	v2.RouteNameCatalog:         routeCatalog,
	v2.RouteNameTags:            routeTags,
	v2.RouteNameManifest:        routeManifest,
	v2.RouteNameBlob:            routeBlob,
	v2.RouteNameBlobUpload:      routeUpload,
	v2.RouteNameBlobUploadChunk: routeUploadChunk,
	routeNameReferrers:          routeReferrers,
	routeNameBadManifest:        routeManifest,
	routeNameBadBlob:            routeBlob,
}

// routeRefVars are the path variables that hold a route's reference.
var routeRefVars = []string{"reference", "digest", "uuid"}

// registryRouter holds the library's routes, then Berth's own; a router of
// its own, so the library's shared one stays as the registry uses it.
var registryRouter = newRegistryRouter()

func newRegistryRouter() *mux.Router {
	r := v2.RouterWithPrefix("")
	name := "/v2/{name:" + reference.NameRegexp.String() + "}"
	r.Path(name + "/referrers/{digest:[^/]+}").Name(routeNameReferrers)
	r.Path(name + "/manifests/{reference:[^/]+}").Name(routeNameBadManifest)
	r.Path(name + "/blobs/{digest:[^/]+}").Name(routeNameBadBlob)
	for _, b := range badNameRoutes {
		routeKinds[routeNameBadName+b.suffix] = b.kind
		r.Path("/v2/{name:.+}" + b.suffix).Name(routeNameBadName + b.suffix)
	}
	return r
}

// parseRoute parses a registry request path. A path no route matches
// yields routeNone and no repository.
func parseRoute(path string) registryRoute {
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}}
	var m mux.RouteMatch
	if !registryRouter.Match(req, &m) || m.Route == nil {
		return registryRoute{}
	}
	rt := registryRoute{kind: routeKinds[m.Route.GetName()], repository: m.Vars["name"]}
	for _, v := range routeRefVars {
		if ref, ok := m.Vars[v]; ok {
			rt.reference = ref
		}
	}
	return rt
}

// actions are the ECR permissions a request of method on the route needs.
func (rt registryRoute) actions(method string) []string {
	read := method == http.MethodGet || method == http.MethodHead
	switch {
	case rt.kind == routeUpload || rt.kind == routeUploadChunk:
		return []string{"InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload"}
	case rt.kind == routeBlob && read:
		return []string{"GetDownloadUrlForLayer"}
	case rt.kind == routeManifest && method == http.MethodPut:
		return []string{"PutImage"}
	case method == http.MethodDelete:
		return []string{"BatchDeleteImage"}
	case read:
		return []string{"BatchGetImage"}
	}
	return []string{"PutImage"}
}

// blobDigest is the digest a blob route names, if it is one.
func (rt registryRoute) blobDigest() (digest.Digest, bool) {
	if rt.kind != routeBlob {
		return "", false
	}
	d, err := digest.Parse(rt.reference)
	return d, err == nil
}

// repoFromPath is the repository a /v2/ path addresses ("" for none).
func repoFromPath(path string) string { return parseRoute(path).repository }

// registryActions are the ECR permissions a registry request needs.
func registryActions(r *http.Request) []string {
	return parseRoute(r.URL.Path).actions(r.Method)
}

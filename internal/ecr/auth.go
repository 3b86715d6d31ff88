package ecr

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// Why a registry request was not authenticated. The messages are ECR's;
// docker prints them after "denied:".
var (
	errNoCredentials = errors.New("Not Authorized")
	errTokenInvalid  = errors.New("Your authorization token is invalid.")
	errTokenExpired  = errors.New("Your authorization token has expired. Reauthenticate and try again.")
)

// authenticate returns the caller of a registry request. Like ECR it takes
// the password of GetAuthorizationToken as Basic credentials of user AWS;
// it also takes it as a Bearer token, either the password alone or the
// whole base64 authorizationToken, for clients that were handed a token
// rather than a login.
func (s *Service) authenticate(r *http.Request, now time.Time) (api.Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return api.Principal{}, errNoCredentials
	}
	scheme, credentials, _ := strings.Cut(header, " ")
	credentials = strings.TrimSpace(credentials)
	var password string
	switch strings.ToLower(scheme) {
	case "basic":
		user, pw, ok := r.BasicAuth()
		if !ok || user != "AWS" {
			return api.Principal{}, errTokenInvalid
		}
		password = pw
	case "bearer":
		password = credentials
		if raw, err := base64.StdEncoding.DecodeString(credentials); err == nil {
			if pw, ok := strings.CutPrefix(string(raw), "AWS:"); ok {
				password = pw
			}
		}
	default:
		return api.Principal{}, errTokenInvalid
	}
	return s.verifyToken(password, now)
}

// challenge answers an unauthenticated registry request with 401 and the
// challenge ECR sends: Basic, for service ecr.amazonaws.com, with the
// registry's own URL as realm.
func (s *Service) challenge(w http.ResponseWriter, r *http.Request, why error) {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="%s://%s/",service="ecr.amazonaws.com"`, scheme, s.cfg.RegistryHost))
	registryError(w, http.StatusUnauthorized, "DENIED", why.Error())
}

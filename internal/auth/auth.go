// Package auth authenticates AWS API callers: the account's root
// credentials and SigV4 verification of each request.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth/sigv4"
	"github.com/berth-dev/berth/internal/store"
)

// Account is the account Berth serves, with its root credentials.
type Account struct {
	ID                  string `json:"id"`
	RootAccessKeyID     string `json:"rootAccessKeyId"`
	RootSecretAccessKey string `json:"rootSecretAccessKey"`
}

const accountKey = "/berth/account"

// EnsureAccount loads the account from the store or creates it on first
// start, taking root credentials from BERTH_ROOT_ACCESS_KEY_ID and
// BERTH_ROOT_SECRET_ACCESS_KEY when set. created says that this call
// created it, so that the root secret is shown at the first start only.
func EnsureAccount(ctx context.Context, st *store.Store, accountID string) (acct Account, created bool, err error) {
	it, err := store.Get[Account](ctx, st, accountKey)
	if err == nil {
		return it.Value, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Account{}, false, err
	}
	acct = Account{
		ID:                  accountID,
		RootAccessKeyID:     os.Getenv("BERTH_ROOT_ACCESS_KEY_ID"),
		RootSecretAccessKey: os.Getenv("BERTH_ROOT_SECRET_ACCESS_KEY"),
	}
	if (acct.RootAccessKeyID == "") != (acct.RootSecretAccessKey == "") {
		return Account{}, false, errors.New("set both BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	if acct.RootAccessKeyID == "" {
		acct.RootAccessKeyID = "AKIA" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
		acct.RootSecretAccessKey = randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
	}
	err = st.Commit(ctx, store.NewTxn().IfAbsent(accountKey).Put(accountKey, acct))
	if errors.Is(err, store.ErrConflict) {
		// Another server created it first; use theirs.
		return EnsureAccount(ctx, st, accountID)
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("create account: %w", err)
	}
	return acct, true, nil
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// RootARN is the ARN of the account's root user.
func (a Account) RootARN() string { return "arn:aws:iam::" + a.ID + ":root" }

// Key is a credential other than the root keys: an IAM user's access key
// or the temporary credentials of a role session.
type Key struct {
	// SecretAccessKey signs requests made with the key.
	SecretAccessKey string
	// SessionToken is set for temporary credentials.
	SessionToken string
	// Principal is the caller the key authenticates as.
	Principal api.Principal
	// Inactive keys exist but authenticate nobody.
	Inactive bool
	// Expires is when temporary credentials stop working; zero for
	// long-term keys.
	Expires time.Time
}

// KeyResolver finds non-root access keys (IAM keeps them).
type KeyResolver interface {
	// ResolveKey returns the key with the given id; ok=false when there is none.
	ResolveKey(ctx context.Context, accessKeyID string) (key Key, ok bool, err error)
}

// Authenticator verifies SigV4 signatures against the account's root
// credentials and, once UseKeys is called, the keys a KeyResolver knows.
type Authenticator struct {
	account  Account
	region   string
	verifier *sigv4.Verifier
	keys     KeyResolver
	now      func() time.Time
}

// NewAuthenticator returns an Authenticator for the account's services in
// region: a signature must be scoped to that region (IAM and STS also take
// us-east-1) and to the service the request is for.
func NewAuthenticator(acct Account, region string) *Authenticator {
	a := &Authenticator{account: acct, region: region, now: time.Now}
	a.verifier = &sigv4.Verifier{Lookup: a.lookup}
	return a
}

// UseKeys makes IAM users' access keys and role sessions authenticate too.
// Call it before serving.
func (a *Authenticator) UseKeys(k KeyResolver) { a.keys = k }

func (a *Authenticator) root() api.Principal {
	return api.Principal{Account: a.account.ID, ARN: a.account.RootARN(), AccessKeyID: a.account.RootAccessKeyID, Root: true, UserID: a.account.ID}
}

// resolvedKey carries the key the verifier looked up to Authenticate, so a
// request reads it from the store once.
type resolvedKey struct{ key Key }

type resolvedKeyCtx struct{}

func (a *Authenticator) lookup(ctx context.Context, id string) (sigv4.Credentials, bool) {
	if id == a.account.RootAccessKeyID {
		return sigv4.Credentials{AccessKeyID: id, SecretAccessKey: a.account.RootSecretAccessKey}, true
	}
	if a.keys == nil {
		return sigv4.Credentials{}, false
	}
	k, ok, err := a.keys.ResolveKey(ctx, id)
	if err != nil || !ok || k.Inactive {
		return sigv4.Credentials{}, false
	}
	if slot, _ := ctx.Value(resolvedKeyCtx{}).(*resolvedKey); slot != nil {
		slot.key = k
	}
	return sigv4.Credentials{AccessKeyID: id, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken}, true
}

// PrincipalForKey returns the principal an access key belongs to, for
// callers that hold a key id rather than a signed request (registry tokens).
func (a *Authenticator) PrincipalForKey(accessKeyID string) (api.Principal, bool) {
	if accessKeyID == a.account.RootAccessKeyID {
		return a.root(), true
	}
	if a.keys == nil {
		return api.Principal{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	k, ok, err := a.keys.ResolveKey(ctx, accessKeyID)
	if err != nil || !ok || k.Inactive || (!k.Expires.IsZero() && !a.now().Before(k.Expires)) {
		return api.Principal{}, false
	}
	return k.Principal, true
}

// globalRegion is where AWS signs the global services (IAM, and STS's
// global endpoint) whatever the caller's region.
const globalRegion = "us-east-1"

// expect is the credential scope a request to service must carry. The SDKs
// sign with the client's region when given an endpoint URL, as Berth's
// users give them, so IAM and STS take the server's region; they also take
// us-east-1, which AWS's IAM and STS's global endpoint are signed for.
// service "" (not known before the body) checks only the region.
func (a *Authenticator) expect(service string) sigv4.Expect {
	regions := []string{a.region}
	switch service {
	case "iam", "sts", "":
		if a.region != globalRegion {
			regions = append(regions, globalRegion)
		}
	}
	if a.region == "" {
		regions = nil
	}
	return sigv4.Expect{Service: service, Regions: regions}
}

// Begin implements api.Verifier: it checks the part of r's signature that
// needs no body (scope, time, access key, session token, expiry) for a
// request to service, and returns the check of the signature over the body.
// Unknown and inactive keys are UnrecognizedClientException
// (InvalidClientTokenId on Query services); expired temporary credentials
// ExpiredTokenException.
func (a *Authenticator) Begin(ctx context.Context, r *http.Request, service string) (func(body []byte) (api.Principal, error), error) {
	slot := &resolvedKey{}
	pending, err := a.verifier.Begin(context.WithValue(ctx, resolvedKeyCtx{}, slot), r, a.expect(service))
	if err != nil {
		return nil, asAPIError(err)
	}
	p := a.root()
	if pending.AccessKeyID() != a.account.RootAccessKeyID {
		k := slot.key
		if !k.Expires.IsZero() && !a.now().Before(k.Expires) {
			return nil, &api.Error{Code: CodeExpiredToken, Message: "The security token included in the request is expired", Status: http.StatusForbidden}
		}
		p = k.Principal
	}
	return func(body []byte) (api.Principal, error) {
		if _, err := pending.Finish(body); err != nil {
			return api.Principal{}, asAPIError(err)
		}
		return p, nil
	}, nil
}

// For returns an api.Authenticator for the plain HTTP endpoints of service
// (the agents' websockets and credentials endpoints).
func (a *Authenticator) For(service string) api.Authenticator {
	return api.ServiceAuthenticator(a, service)
}

func asAPIError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &api.Error{Code: se.Code, Message: se.Message, Status: se.StatusCode()}
	}
	return err
}

// CodeExpiredToken is the JSON services' code for expired temporary
// credentials; Query services answer ExpiredToken.
const CodeExpiredToken = "ExpiredTokenException"

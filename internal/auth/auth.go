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
	verifier *sigv4.Verifier
	keys     KeyResolver
	now      func() time.Time
}

// NewAuthenticator returns an Authenticator for the account.
func NewAuthenticator(acct Account) *Authenticator {
	a := &Authenticator{account: acct, now: time.Now}
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

// Authenticate implements api.Authenticator. Unknown and inactive keys are
// UnrecognizedClientException (InvalidClientTokenId on Query services);
// expired temporary credentials ExpiredTokenException.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, body []byte) (api.Principal, error) {
	slot := &resolvedKey{}
	res, err := a.verifier.Verify(context.WithValue(ctx, resolvedKeyCtx{}, slot), r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return api.Principal{}, &api.Error{Code: se.Code, Message: se.Message, Status: se.StatusCode()}
		}
		return api.Principal{}, err
	}
	if res.AccessKeyID == a.account.RootAccessKeyID {
		return a.root(), nil
	}
	k := slot.key
	if !k.Expires.IsZero() && !a.now().Before(k.Expires) {
		return api.Principal{}, &api.Error{Code: CodeExpiredToken, Message: "The security token included in the request is expired", Status: http.StatusForbidden}
	}
	return k.Principal, nil
}

// CodeExpiredToken is the JSON services' code for expired temporary
// credentials; Query services answer ExpiredToken.
const CodeExpiredToken = "ExpiredTokenException"

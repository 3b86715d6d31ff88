package ecr

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// TokenLifetime is how long a registry token is valid, as in ECR.
const TokenLifetime = 12 * time.Hour

type GetAuthorizationTokenInput struct {
	RegistryIds []string `json:"registryIds"`
}

// AuthorizationData is a registry login.
type AuthorizationData struct {
	AuthorizationToken string         `json:"authorizationToken"`
	ExpiresAt          *api.Timestamp `json:"expiresAt"`
	ProxyEndpoint      string         `json:"proxyEndpoint"`
}

type GetAuthorizationTokenOutput struct {
	AuthorizationData []AuthorizationData `json:"authorizationData"`
}

// tokenClaims is what a registry password carries, signed by the server.
type tokenClaims struct {
	AccessKeyID string `json:"k"`
	Expires     int64  `json:"e"`
}

// GetAuthorizationToken returns base64("AWS:<password>") valid for 12 h:
// the password names the caller's access key and is signed, so any server
// of the region can check it without state.
func (s *Service) GetAuthorizationToken(ctx context.Context, in *GetAuthorizationTokenInput) (*GetAuthorizationTokenOutput, error) {
	for _, id := range in.RegistryIds {
		if err := s.checkRegistry(id); err != nil {
			return nil, err
		}
	}
	if err := s.authorize(ctx, "GetAuthorizationToken", "*"); err != nil {
		return nil, err
	}
	exp := time.Now().Add(TokenLifetime).Truncate(time.Second)
	password := s.sign(tokenClaims{AccessKeyID: api.PrincipalFrom(ctx).AccessKeyID, Expires: exp.Unix()})
	return &GetAuthorizationTokenOutput{AuthorizationData: []AuthorizationData{{
		AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
		ExpiresAt:          api.At(exp), ProxyEndpoint: "http://" + s.cfg.RegistryHost,
	}}}, nil
}

func (s *Service) sign(c tokenClaims) string {
	body, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(payload))
	return payload + "." + hex.EncodeToString(mac.Sum(nil))
}

// verify checks a registry password and returns its caller.
func (s *Service) verify(password string, now time.Time) (api.Principal, bool) {
	p, err := s.verifyToken(password, now)
	return p, err == nil
}

// verifyToken checks a registry password and returns its caller, or why it
// is refused: errTokenExpired past its expiry, errTokenInvalid when it is
// not one this region signed or its access key is gone.
func (s *Service) verifyToken(password string, now time.Time) (api.Principal, error) {
	payload, sig, ok := strings.Cut(password, ".")
	if !ok {
		return api.Principal{}, errTokenInvalid
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(payload))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return api.Principal{}, errTokenInvalid
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return api.Principal{}, errTokenInvalid
	}
	var c tokenClaims
	if json.Unmarshal(body, &c) != nil {
		return api.Principal{}, errTokenInvalid
	}
	if now.Unix() >= c.Expires {
		return api.Principal{}, errTokenExpired
	}
	p, ok := s.principal(c.AccessKeyID)
	if !ok {
		return api.Principal{}, errTokenInvalid
	}
	return p, nil
}

package push

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FCMScope is the OAuth scope of the FCM HTTP v1 API.
const FCMScope = "https://www.googleapis.com/auth/firebase.messaging"

// DefaultFCMEndpoint is the FCM HTTP v1 API base.
const DefaultFCMEndpoint = "https://fcm.googleapis.com"

// ServiceAccount is the part of a Google service-account key file FCM needs.
type ServiceAccount struct {
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

// ReadServiceAccount reads and checks a service-account key file.
func ReadServiceAccount(path string) (ServiceAccount, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ServiceAccount{}, fmt.Errorf("push: read service account: %w", err)
	}
	var sa ServiceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		return ServiceAccount{}, fmt.Errorf("push: parse service account %s: %w", path, err)
	}
	var missing []string
	for name, v := range map[string]string{"project_id": sa.ProjectID, "client_email": sa.ClientEmail, "private_key": sa.PrivateKey, "token_uri": sa.TokenURI} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return ServiceAccount{}, fmt.Errorf("push: service account %s lacks %s", path, strings.Join(missing, ", "))
	}
	return sa, nil
}

// FCM sends through the FCM HTTP v1 API with an OAuth token obtained from
// the service account (JWT bearer grant), cached until shortly before it
// expires. Safe for concurrent use.
type FCM struct {
	sa       ServiceAccount
	key      *rsa.PrivateKey
	endpoint string
	client   *http.Client
	now      func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// FCMOption adjusts an FCM sender.
type FCMOption func(*FCM)

// WithEndpoint sends to another API base (tests, emulators).
func WithEndpoint(base string) FCMOption {
	return func(f *FCM) { f.endpoint = strings.TrimRight(base, "/") }
}

// WithHTTPClient uses c for every call.
func WithHTTPClient(c *http.Client) FCMOption { return func(f *FCM) { f.client = c } }

// NewFCM returns a sender for the service account.
func NewFCM(sa ServiceAccount, opts ...FCMOption) (*FCM, error) {
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(sa.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("push: service account private key: %w", err)
	}
	f := &FCM{sa: sa, key: key, endpoint: DefaultFCMEndpoint, client: &http.Client{Timeout: 15 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// accessToken returns a cached OAuth token or fetches a new one.
func (f *FCM) accessToken(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.token != "" && now.Before(f.expires.Add(-time.Minute)) {
		return f.token, nil
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": f.sa.ClientEmail, "scope": FCMScope, "aud": f.sa.TokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(f.key)
	if err != nil {
		return "", fmt.Errorf("push: sign token request: %w", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, "POST", f.sa.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("push: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := f.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("push: token request: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("push: token request: %s: %s", res.Status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("push: token response %q: %v", body, err)
	}
	f.token, f.expires = tok.AccessToken, now.Add(time.Duration(tok.ExpiresIn)*time.Second)
	return f.token, nil
}

// errGone marks a token FCM reports unregistered or invalid.
var errGone = errors.New("device token is gone")

// Send delivers m to each of the user's tokens. Tokens FCM reports
// unregistered are returned in Result.Gone; any other failure is an error
// (the whole message is retried later; FCM de-duplicates nothing, so a
// retry may reach a device twice, which clients tolerate).
func (f *FCM) Send(ctx context.Context, m Message) (Result, error) {
	var res Result
	if len(m.Tokens) == 0 {
		return res, nil
	}
	tok, err := f.accessToken(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, device := range m.Tokens {
		err := f.sendOne(ctx, tok, device, m)
		switch {
		case errors.Is(err, errGone):
			res.Gone = append(res.Gone, device)
		case err != nil:
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func (f *FCM) sendOne(ctx context.Context, accessToken, device string, m Message) error {
	data := map[string]string{}
	for k, v := range m.Data {
		data[k] = v
	}
	body, err := json.Marshal(map[string]any{"message": map[string]any{
		"token":        device,
		"notification": map[string]string{"title": m.Title, "body": m.Body},
		"data":         data,
	}})
	if err != nil {
		return fmt.Errorf("push: encode message: %w", err)
	}
	u := f.endpoint + "/v1/projects/" + url.PathEscape(f.sa.ProjectID) + "/messages:send"
	req, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: send request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	res, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("push: send: %w", err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	switch {
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode == http.StatusNotFound || (res.StatusCode == http.StatusBadRequest && bytes.Contains(rb, []byte("UNREGISTERED"))):
		return errGone
	case res.StatusCode == http.StatusUnauthorized:
		f.mu.Lock()
		f.token = ""
		f.mu.Unlock()
	}
	return fmt.Errorf("push: send: %s: %s", res.Status, rb)
}

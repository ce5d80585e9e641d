package push

import (
	"bytes"
	"context"
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
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// FCMScope is the OAuth scope of the FCM HTTP v1 API.
const FCMScope = "https://www.googleapis.com/auth/firebase.messaging"

// DefaultFCMEndpoint is the FCM HTTP v1 API base.
const DefaultFCMEndpoint = "https://fcm.googleapis.com"

// FCMConfig says how to reach FCM.
type FCMConfig struct {
	// ServiceAccountFile is a Google service-account key file (type
	// "service_account"). When empty, Application Default Credentials are
	// used: the file GOOGLE_APPLICATION_CREDENTIALS names, gcloud's, or
	// the metadata server on Google Cloud.
	ServiceAccountFile string
	// ProjectID is the Firebase project to send through (default: the
	// credentials' project).
	ProjectID string
	// Endpoint is the FCM API base (default DefaultFCMEndpoint; tests and
	// emulators change it).
	Endpoint string
	// HTTPClient sends the FCM calls and the OAuth token requests (default:
	// a client with a 15 s timeout that keeps up to 32 idle connections to
	// the push service, as many as the worker's concurrent sends).
	HTTPClient *http.Client
}

// FCM sends through the FCM HTTP v1 API. OAuth access tokens come from
// golang.org/x/oauth2/google (for a service account, the JWT-bearer grant
// at the key file's token_uri), cached until shortly before they expire
// and fetched again then; a 401 from FCM drops the cached token. Safe for
// concurrent use.
type FCM struct {
	project  string
	endpoint string
	client   *http.Client
	load     func() (*google.Credentials, error)

	mu     sync.Mutex
	tokens oauth2.TokenSource // nil: load credentials on the next send
}

// NewFCM checks cfg and returns a sender. It reads and checks the key file
// (or finds the default credentials) now, so a misconfiguration stops the
// server at start-up; it fetches no token yet.
func NewFCM(ctx context.Context, cfg FCMConfig) (*FCM, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultFCMEndpoint
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second, Transport: tr}
	}
	// Token requests outlive any one send: they carry the client, not a
	// request's context.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, cfg.HTTPClient)
	var load func() (*google.Credentials, error)
	if cfg.ServiceAccountFile != "" {
		key, err := os.ReadFile(cfg.ServiceAccountFile)
		if err != nil {
			return nil, fmt.Errorf("push: read service account: %w", err)
		}
		if err := checkServiceAccount(key); err != nil {
			return nil, fmt.Errorf("push: service account %s: %w", cfg.ServiceAccountFile, err)
		}
		load = func() (*google.Credentials, error) {
			return google.CredentialsFromJSONWithTypeAndParams(tctx, key, google.ServiceAccount, google.CredentialsParams{Scopes: []string{FCMScope}})
		}
	} else {
		load = func() (*google.Credentials, error) { return google.FindDefaultCredentials(tctx, FCMScope) }
	}
	creds, err := load()
	if err != nil {
		return nil, fmt.Errorf("push: FCM credentials: %w", err)
	}
	f := &FCM{project: cfg.ProjectID, endpoint: strings.TrimRight(cfg.Endpoint, "/"), client: cfg.HTTPClient, load: load, tokens: creds.TokenSource}
	if f.project == "" {
		f.project = creds.ProjectID
	}
	if f.project == "" {
		return nil, errors.New("push: FCM needs a project id: the credentials name none; set it")
	}
	return f, nil
}

// checkServiceAccount reports what is missing from a service-account key
// before it is first used (the oauth2 package reads the key lazily).
func checkServiceAccount(key []byte) error {
	var sa struct {
		Type        string `json:"type"`
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(key, &sa); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"type", sa.Type}, {"client_email", sa.ClientEmail}, {"private_key", sa.PrivateKey}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("lacks %s", strings.Join(missing, ", "))
	}
	if sa.Type != string(google.ServiceAccount) {
		return fmt.Errorf("type %q, want %q", sa.Type, google.ServiceAccount)
	}
	if _, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(sa.PrivateKey)); err != nil {
		return fmt.Errorf("private_key: %w", err)
	}
	return nil
}

// Project is the Firebase project messages are sent through.
func (f *FCM) Project() string { return f.project }

// token returns a valid access token, cached by the token source.
func (f *FCM) token() (*oauth2.Token, error) {
	f.mu.Lock()
	ts := f.tokens
	f.mu.Unlock()
	if ts == nil {
		creds, err := f.load()
		if err != nil {
			return nil, fmt.Errorf("push: FCM credentials: %w", err)
		}
		f.mu.Lock()
		if f.tokens == nil {
			f.tokens = creds.TokenSource
		}
		ts = f.tokens
		f.mu.Unlock()
	}
	tok, err := ts.Token()
	if err != nil {
		return nil, fmt.Errorf("push: FCM access token: %w", err)
	}
	return tok, nil
}

// forget drops the cached token (FCM refused it).
func (f *FCM) forget() {
	f.mu.Lock()
	f.tokens = nil
	f.mu.Unlock()
}

// errGone marks a token FCM reports unregistered or invalid.
var errGone = errors.New("device token is gone")

// errRefused marks a message FCM refused as malformed (400
// INVALID_ARGUMENT): sending it again would be refused again.
var errRefused = errors.New("FCM refused the message")

// Send delivers m to each of the user's tokens. Tokens FCM reports
// unregistered are returned in Result.Gone; any other failure is an error
// (the whole message is retried later; FCM de-duplicates nothing, so a
// retry may reach a device twice, which clients tolerate), except when FCM
// refused the message as malformed (400) for every device that failed:
// then the error wraps ErrPermanent and the message is given up at once.
func (f *FCM) Send(ctx context.Context, m Message) (Result, error) {
	var res Result
	if len(m.Tokens) == 0 {
		return res, nil
	}
	tok, err := f.token()
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
	if len(errs) == 0 {
		return res, nil
	}
	for _, err := range errs {
		if !errors.Is(err, errRefused) {
			return res, errors.Join(errs...)
		}
	}
	return res, fmt.Errorf("%w: %w", ErrPermanent, errors.Join(errs...))
}

func (f *FCM) sendOne(ctx context.Context, tok *oauth2.Token, device string, m Message) error {
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
	u := f.endpoint + "/v1/projects/" + url.PathEscape(f.project) + "/messages:send"
	req, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: send request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	tok.SetAuthHeader(req)
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
	case res.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("push: send: %w: %s: %s", errRefused, res.Status, rb)
	case res.StatusCode == http.StatusUnauthorized:
		f.forget()
	}
	return fmt.Errorf("push: send: %s: %s", res.Status, rb)
}

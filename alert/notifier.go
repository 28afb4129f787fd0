package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// SignatureHeader carries a webhook body's signature: "sha256=" and the
// hex HMAC-SHA256 of the body with the webhook's secret.
const SignatureHeader = "X-Aegir-Signature"

// DefaultTimeout bounds each delivery (one mail, one webhook call).
const DefaultTimeout = 10 * time.Second

// Notifier records notifications and delivers them. Its zero value is not
// usable: set Store.
type Notifier struct {
	Store aegir.Store
	// SMTP sends the e-mail alerts; nil sends none.
	SMTP *SMTP
	// HTTP calls the webhooks; nil is a client with Timeout that follows
	// no redirect.
	HTTP    *http.Client
	Timeout time.Duration
}

func (n *Notifier) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return DefaultTimeout
}

func (n *Notifier) client() *http.Client {
	if n.HTTP != nil {
		return n.HTTP
	}
	return &http.Client{Timeout: n.timeout(), CheckRedirect: func(*http.Request, []*http.Request) error {
		// A webhook answers; it does not send aegir's signed body on.
		return http.ErrUseLastResponse
	}}
}

// Sees reports whether u may be told of note: the role may read objects of
// its type, and a user limited to some clients sees only their sites'.
func Sees(u *aegir.User, note *aegir.Notification) bool {
	if u == nil || u.Disabled || !hosting.RoleAllows(u.Role, string(note.ObjectType), hosting.ActRead) {
		return false
	}
	scope, _ := hosting.ListScope(u, hosting.KindSite)
	return !scope.Limited || (note.Client != "" && slices.Contains(scope.Clients, note.Client))
}

// Raise records note and delivers it to every subscriber of its event who
// may see it. Delivery failures are returned together, after every
// delivery was tried; the notification is recorded whatever they were.
func (n *Notifier) Raise(ctx context.Context, note *aegir.Notification) error {
	if err := n.Store.AddNotification(ctx, note); err != nil {
		return err
	}
	subs, err := n.Store.AlertSubscribers(ctx, note.Event)
	if err != nil {
		return err
	}
	var errs []error
	for _, sub := range subs {
		u, err := n.Store.GetUser(ctx, sub.UserID)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			continue
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		if !Sees(u, note) {
			continue
		}
		if sub.Email && u.Email != "" && n.SMTP != nil {
			if err := n.SMTP.send(u.Email, subject(note), body(note), n.timeout()); err != nil {
				errs = append(errs, fmt.Errorf("mail to user %s: %w", u.Name, err))
			}
		}
		if sub.WebhookURL != "" {
			if err := n.callWebhook(ctx, sub, note); err != nil {
				errs = append(errs, fmt.Errorf("webhook of user %s: %w", u.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func subject(note *aegir.Notification) string {
	return fmt.Sprintf("[aegir] %s: @%s", note.Event, note.Object)
}

func body(note *aegir.Notification) string {
	return fmt.Sprintf("%s\n\nevent: %s\n%s: @%s\ntime: %s\n", note.Message, note.Event, note.ObjectType, note.Object,
		note.Time.UTC().Format(time.RFC3339))
}

// Sign returns the value of SignatureHeader for body and secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// callWebhook posts the notification as JSON, signed; any answer but 2xx
// is an error (its body is not read: it may be anything).
func (n *Notifier) callWebhook(ctx context.Context, sub *aegir.AlertSubscription, note *aegir.Notification) error {
	data, err := json.Marshal(note)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.WebhookURL, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aegir-alerts")
	req.Header.Set("X-Aegir-Event", note.Event)
	req.Header.Set(SignatureHeader, Sign(data, sub.WebhookSecret))
	resp, err := n.client().Do(req)
	if err != nil {
		// The URL may hold a token (many services put it in the path): the
		// error, which is logged, leaves it out.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", req.URL.Scheme+"://"+req.URL.Host, ue.Err)
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// TaskFinished raises what a finished task means, if anything: a failed
// backup or backup-verify, a failed certificate renewal (a verify with renew=1), or a
// server whose verify failed (it is unreachable, or its services are
// broken). It is the hook the fleet's reachability checks call too,
// through ServerUnreachable.
func (n *Notifier) TaskFinished(ctx context.Context, t *aegir.Task, status string) error {
	if status != aegir.StatusFailed {
		return nil
	}
	switch {
	case t.Type == aegir.TaskBackup && t.ObjectType == aegir.SiteContext:
		return n.raiseSite(ctx, aegir.EventBackupFailed, t.Object, fmt.Sprintf("The backup of @%s failed (task %d).", t.Object, t.ID))
	case t.Type == aegir.TaskBackupVerify && t.ObjectType == aegir.SiteContext:
		// A backup that does not restore is as bad as none.
		return n.raiseSite(ctx, aegir.EventBackupFailed, t.Object, fmt.Sprintf("A backup of @%s did not restore: its backup-verify failed (task %d).", t.Object, t.ID))
	case t.Type == aegir.TaskVerify && t.ObjectType == aegir.SiteContext && t.Args["renew"] == "1": // schedule.ArgRenew
		return n.raiseSite(ctx, aegir.EventRenewalFailed, t.Object, fmt.Sprintf("The certificate renewal of @%s failed (task %d).", t.Object, t.ID))
	case t.Type == aegir.TaskVerify && t.ObjectType == aegir.ServerContext:
		return n.ServerUnreachable(ctx, t.Object, fmt.Sprintf("The verify of @%s failed (task %d).", t.Object, t.ID))
	}
	return nil
}

// ServerUnreachable raises that a server cannot be reached or used.
func (n *Notifier) ServerUnreachable(ctx context.Context, server, why string) error {
	return n.Raise(ctx, &aegir.Notification{Event: aegir.EventServerUnreachable, ObjectType: aegir.ServerContext,
		Object: aegir.ContextName(server), Message: why})
}

// raiseSite raises an event about a site, for the users of its client.
func (n *Notifier) raiseSite(ctx context.Context, event, site, message string) error {
	note := &aegir.Notification{Event: event, ObjectType: aegir.SiteContext, Object: aegir.ContextName(site), Message: message}
	if r, err := n.Store.GetSite(ctx, note.Object); err == nil {
		note.Client = r.Client
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return err
	}
	return n.Raise(ctx, note)
}

// SiteHealthChanged raises that a site went down or came back up.
func (n *Notifier) SiteHealthChanged(ctx context.Context, r *aegir.SiteRecord, h aegir.SiteHealth) error {
	event, msg := aegir.EventSiteUp, fmt.Sprintf("@%s is up again: it answered %d in %d ms.", r.Name, h.Code, h.Millis)
	if h.State == aegir.HealthDown {
		event, msg = aegir.EventSiteDown, fmt.Sprintf("@%s is down: %s.", r.Name, h.Reason)
	}
	return n.Raise(ctx, &aegir.Notification{Event: event, ObjectType: aegir.SiteContext, Object: r.Name, Client: r.Client, Message: msg})
}

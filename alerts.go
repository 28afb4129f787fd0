package aegir

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// This file holds site health, the notifications the front end raises and
// each user's choice of alerts.

// Health states of a site: unchecked (""), up or down.
const (
	HealthUp   = "up"
	HealthDown = "down"
)

// SiteHealth is the last health check of a site: the answer of its web
// server to a request for "/" with the site's Host.
type SiteHealth struct {
	State     string     `json:"state"`            // "", HealthUp or HealthDown
	Code      int        `json:"code"`             // HTTP status; 0 when no answer came
	Millis    int64      `json:"ms"`               // response time
	Reason    string     `json:"reason,omitempty"` // why a site is down
	CheckedAt *time.Time `json:"checked_at,omitempty"`
}

// Alert events: what a notification is about.
const (
	EventSiteDown          = "site_down"
	EventSiteUp            = "site_up"
	EventBackupFailed      = "backup_failed"
	EventRenewalFailed     = "renewal_failed"
	EventServerUnreachable = "server_unreachable"
)

// AlertEvents lists every alert event, in the order the UI shows them.
var AlertEvents = []string{EventSiteDown, EventSiteUp, EventBackupFailed, EventRenewalFailed, EventServerUnreachable}

// Notification is one event the front end raised. Client is the client of
// the site it is about ("" for servers and platforms, which only users
// who see every client are told of).
type Notification struct {
	ID         int64       `json:"id"`
	Time       time.Time   `json:"time"`
	Event      string      `json:"event"`
	ObjectType ContextType `json:"object_type"`
	Object     string      `json:"object"`
	Client     string      `json:"client,omitempty"`
	Message    string      `json:"message"`
}

// NotificationFilter selects one page of notifications, newest first.
type NotificationFilter struct {
	Page    int
	PerPage int
	// ObjectTypes, when not empty, keeps the notifications on objects of
	// these types.
	ObjectTypes []ContextType
	// Scope keeps the notifications of its clients.
	Scope Scope
}

// AlertSubscription is a user's choice of alerts: which events, by e-mail
// (to the user's address) and to a webhook signed with WebhookSecret.
type AlertSubscription struct {
	UserID        int64    `json:"user_id"`
	Events        []string `json:"events"`
	Email         bool     `json:"email"`
	WebhookURL    string   `json:"webhook_url,omitempty"`
	WebhookSecret string   `json:"-"`
}

// Wants reports whether the subscription takes event.
func (a *AlertSubscription) Wants(event string) bool { return slices.Contains(a.Events, event) }

// Validate reports the first invalid field of a notification.
func (n *Notification) Validate() error {
	if !slices.Contains(AlertEvents, n.Event) {
		return FieldErrorf("event", "%q is not one of %s", n.Event, strings.Join(AlertEvents, ", "))
	}
	if err := ValidateName("object", n.Object); err != nil {
		return err
	}
	if n.Client != "" && !clientNamePattern.MatchString(n.Client) {
		return FieldErrorf("client", "%q is not a client name", n.Client)
	}
	if len(n.Message) > 4096 {
		return FieldErrorf("message", "is longer than 4096 characters")
	}
	return nil
}

// Validate reports the first invalid field of a subscription: unknown
// events, a webhook that is not an http(s) URL, or one without a secret
// of at least 16 characters to sign its bodies with.
func (a *AlertSubscription) Validate() error {
	for _, e := range a.Events {
		if !slices.Contains(AlertEvents, e) {
			return FieldErrorf("events", "%q is not one of %s", e, strings.Join(AlertEvents, ", "))
		}
	}
	if a.WebhookURL == "" {
		return nil
	}
	if len(a.WebhookURL) > 2048 {
		return FieldErrorf("webhook_url", "is longer than 2048 characters")
	}
	u, err := url.Parse(a.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return FieldErrorf("webhook_url", "must be an http or https URL without a user name")
	}
	if len(a.WebhookSecret) < 16 || len(a.WebhookSecret) > 256 {
		return FieldErrorf("webhook_secret", "must be 16 to 256 characters")
	}
	return nil
}

// AlertStore keeps site health, notifications and alert subscriptions.
type AlertStore interface {
	// SetSiteHealth records a site's last health check; an unknown site
	// is ENOTFOUND. Nothing else of the record changes.
	SetSiteHealth(ctx context.Context, site string, h SiteHealth) error
	// AddNotification records a notification and sets its ID and Time.
	AddNotification(ctx context.Context, n *Notification) error
	// ListNotifications returns one page of notifications, newest first,
	// and the total.
	ListNotifications(ctx context.Context, f NotificationFilter) ([]*Notification, int, error)
	// SetAlertSubscription adds or replaces a user's subscription; a user
	// that does not exist is ENOTFOUND.
	SetAlertSubscription(ctx context.Context, a *AlertSubscription) error
	// GetAlertSubscription returns a user's subscription: an empty one
	// when the user chose none.
	GetAlertSubscription(ctx context.Context, userID int64) (*AlertSubscription, error)
	// AlertSubscribers returns the subscriptions that take event.
	AlertSubscribers(ctx context.Context, event string) ([]*AlertSubscription, error)
}

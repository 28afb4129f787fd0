package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// SetSiteHealth records a site's last health check, and nothing else of
// its record, so that a check racing an update loses neither.
func (s *Store) SetSiteHealth(ctx context.Context, site string, h aegir.SiteHealth) error {
	if h.State != "" && h.State != aegir.HealthUp && h.State != aegir.HealthDown {
		return aegir.FieldErrorf("state", "%q is not up or down", h.State)
	}
	if len(h.Reason) > 1024 {
		h.Reason = h.Reason[:1024]
	}
	if h.CheckedAt != nil {
		t := normalTime(*h.CheckedAt)
		h.CheckedAt = &t
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		res, err := tx.exec(ctx, `UPDATE sites SET health = $1, health_code = $2, health_ms = $3, health_reason = $4,
			health_checked_at = $5 WHERE name = $6`, h.State, h.Code, h.Millis, h.Reason, timeArg(h.CheckedAt), site)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return aegir.Errorf(aegir.ENOTFOUND, "site @%s does not exist", site)
		}
		return nil
	})
}

const notificationCols = "id, time, event, object_type, object, client, message"

// AddNotification records a notification.
func (s *Store) AddNotification(ctx context.Context, n *aegir.Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return tx.row(ctx, `INSERT INTO notifications (time, event, object_type, object, client, message)
			VALUES ($now, $1, $2, $3, $4, $5) RETURNING id, time`,
			n.Event, string(n.ObjectType), n.Object, n.Client, n.Message).Scan(&n.ID, timeCol{&n.Time})
	})
}

// ListNotifications returns one page of notifications, newest first.
func (s *Store) ListNotifications(ctx context.Context, f aegir.NotificationFilter) ([]*aegir.Notification, int, error) {
	c := s.filter().scope("%s", "client", f.Scope)
	if len(f.ObjectTypes) > 0 {
		types := make([]string, len(f.ObjectTypes))
		for i, t := range f.ObjectTypes {
			types[i] = string(t)
		}
		c.anyOf("%s", "object_type", types)
	}
	return listPage(ctx, s, "notifications", c, notificationCols, "id DESC", f.Page, f.PerPage, func(row scanner) (*aegir.Notification, error) {
		var n aegir.Notification
		var typ string
		err := row.Scan(&n.ID, timeCol{&n.Time}, &n.Event, &typ, &n.Object, &n.Client, &n.Message)
		n.ObjectType = aegir.ContextType(typ)
		return &n, err
	})
}

const subscriptionCols = "user_id, events, email, webhook_url, webhook_secret"

func scanSubscription(row scanner) (*aegir.AlertSubscription, error) {
	var a aegir.AlertSubscription
	var events string
	if err := row.Scan(&a.UserID, &events, &a.Email, &a.WebhookURL, &a.WebhookSecret); err != nil {
		return nil, err
	}
	if events != "" {
		a.Events = strings.Split(events, ",")
	}
	return &a, nil
}

// SetAlertSubscription adds or replaces a user's subscription.
func (s *Store) SetAlertSubscription(ctx context.Context, a *aegir.AlertSubscription) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = $1`, a.UserID); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "user %d does not exist", a.UserID)
		}
		_, err := tx.exec(ctx, `INSERT INTO alert_subscriptions (user_id, events, email, webhook_url, webhook_secret)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET events = excluded.events,
			email = excluded.email, webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret`,
			a.UserID, strings.Join(a.Events, ","), a.Email, a.WebhookURL, a.WebhookSecret)
		return err
	})
}

// GetAlertSubscription returns a user's subscription, or an empty one.
func (s *Store) GetAlertSubscription(ctx context.Context, userID int64) (*aegir.AlertSubscription, error) {
	a, err := scanSubscription(s.reader().row(ctx, "SELECT "+subscriptionCols+" FROM alert_subscriptions WHERE user_id = $1", userID))
	if errors.Is(err, sql.ErrNoRows) {
		return &aegir.AlertSubscription{UserID: userID}, nil
	}
	return a, err
}

// AlertSubscribers returns the subscriptions that take event. Events are
// a short comma-separated list, so the match is a LIKE on ",events,".
func (s *Store) AlertSubscribers(ctx context.Context, event string) ([]*aegir.AlertSubscription, error) {
	return collect(ctx, s.reader(), scanSubscription, "SELECT "+subscriptionCols+
		` FROM alert_subscriptions WHERE ',' || events || ',' LIKE $1 ESCAPE '\' ORDER BY user_id`, likeContains(","+event+","))
}

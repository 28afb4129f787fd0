package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/aegir-hosting/aegir/sqlstore"
	"github.com/jackc/pgx/v5"
)

// Channel is the LISTEN/NOTIFY channel that signals task queue changes.
const Channel = "aegir_tasks"

// NotifyTx queues a notification that PostgreSQL sends when tx commits.
func (d *dialect) NotifyTx(ctx context.Context, tx sqlstore.Querier) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_notify($1, '')", Channel)
	return err
}

// Notify wakes every listener, in every process sharing the database.
func (d *dialect) Notify(ctx context.Context) error {
	_, err := d.db.ExecContext(ctx, "SELECT pg_notify($1, '')", Channel)
	return err
}

// Listen returns a channel that receives a value after notifications on
// Channel, closed when ctx ends or the store closes. It holds one
// connection of its own; when that connection breaks, it reconnects with
// backoff and then signals once, since notifications may have been lost.
func (d *dialect) Listen(ctx context.Context) (<-chan struct{}, error) {
	conn, err := d.listenConn(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go d.listen(ctx, conn, ch)
	return ch, nil
}

func (d *dialect) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

func (d *dialect) listen(ctx context.Context, conn *pgx.Conn, ch chan struct{}) {
	defer close(ch)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for {
		_, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			conn.Close(context.Background())
			return
		}
		if err == nil {
			signal()
			continue
		}
		conn.Close(context.Background())
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 10*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if conn, err = d.listenConn(ctx); err == nil {
				break
			}
		}
		signal()
	}
}

// The orders table: the only module of the example that speaks SQL.

export type OrderItem = { sku: string; quantity: number; priceCents: number };

export type Order = {
  id: string;
  userId: string;
  items: OrderItem[];
  totalCents: number;
  status: "confirmed";
  confirmationJobId: string | null;
  sideEffectsJobId: string | null;
  createdAt: number;
};

type OrderRow = {
  id: string;
  user_id: string;
  items: string;
  total_cents: number;
  status: "confirmed";
  confirmation_job_id: string | null;
  side_effects_job_id: string | null;
  created_at: number;
};

const fromRow = (row: OrderRow): Order => ({
  id: row.id,
  userId: row.user_id,
  items: JSON.parse(row.items) as OrderItem[],
  totalCents: row.total_cents,
  status: row.status,
  confirmationJobId: row.confirmation_job_id,
  sideEffectsJobId: row.side_effects_job_id,
  createdAt: row.created_at,
});

export async function saveOrder(db: D1Database, order: Order): Promise<void> {
  await db
    .prepare("INSERT INTO orders (id, user_id, items, total_cents, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
    .bind(order.id, order.userId, JSON.stringify(order.items), order.totalCents, order.status, order.createdAt)
    .run();
}

export async function recordFollowUps(
  db: D1Database,
  orderId: string,
  confirmationJobId: string,
  sideEffectsJobId: string,
) {
  await db
    .prepare("UPDATE orders SET confirmation_job_id = ?2, side_effects_job_id = ?3 WHERE id = ?1")
    .bind(orderId, confirmationJobId, sideEffectsJobId)
    .run();
}

export async function findOrder(db: D1Database, id: string): Promise<Order | null> {
  const row = await db.prepare("SELECT * FROM orders WHERE id = ?1").bind(id).first<OrderRow>();
  return row ? fromRow(row) : null;
}

/** Orders whose follow-up jobs were never accepted, oldest first (served by a partial index). */
export async function ordersWithoutFollowUps(db: D1Database, limit: number): Promise<Order[]> {
  const { results } = await db
    .prepare("SELECT * FROM orders WHERE confirmation_job_id IS NULL ORDER BY created_at LIMIT ?1")
    .bind(limit)
    .all<OrderRow>();
  return results.map(fromRow);
}

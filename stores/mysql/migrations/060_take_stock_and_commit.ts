import type { Knex } from 'knex';

/**
 * `take_stock_and_commit(lines)`: a reservation's last step, its stock take and its COMMIT in one round trip
 * (stock/levels.ts takeStockAndCommit). Sent as two statements, the hot item row stayed locked from the UPDATE's
 * answer until the API's event loop got round to sending COMMIT: in a flash sale that loop is busy with every
 * other buyer, so each winner held the row for milliseconds and the next waited behind it (200 orders of one item
 * measured about 1 s of lock wait each). Here the lock is held only inside the server.
 *
 * `lines` is a JSON array of {item_id, quantity} in item_id order (the fixed lock order). Every line is tried;
 * when all were taken the transaction is committed, otherwise nothing is committed and the caller rolls back.
 * The one row it returns names the items it could not take (`short_items`, a JSON array, or NULL).
 *
 * The item id variable takes the column's own character set and collation, read here, so that the comparison
 * uses the primary key whatever the database's default collation is.
 */
/** `items.item_id`'s type as a procedure variable's declaration, read from the schema (also used by 061). */
export async function itemIdVariableType(knex: Knex): Promise<string> {
  const [rows] = await knex.raw(
    `SELECT character_set_name AS cs, collation_name AS co, character_maximum_length AS len
       FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = 'items' AND column_name = 'item_id'`,
  );
  const { cs, co, len } = rows[0] as { cs: string; co: string; len: number };
  if (!/^\w+$/.test(cs) || !/^\w+$/.test(co) || !Number.isInteger(Number(len)))
    throw new Error(`unexpected items.item_id type: ${cs} ${co} ${len}`);
  return `VARCHAR(${Number(len)}) CHARACTER SET ${cs} COLLATE ${co}`;
}

export async function up(knex: Knex): Promise<void> {
  const itemIdType = await itemIdVariableType(knex);
  await knex.raw('DROP PROCEDURE IF EXISTS take_stock_and_commit');
  await knex.raw(`
    CREATE PROCEDURE take_stock_and_commit(IN p_lines LONGTEXT CHARACTER SET utf8mb4)
    MODIFIES SQL DATA
    BEGIN
      DECLARE i INT DEFAULT 0;
      DECLARE n INT DEFAULT JSON_LENGTH(p_lines);
      DECLARE v_item ${itemIdType};
      DECLARE v_qty INT;
      DECLARE v_short LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
      WHILE i < n DO
        SET v_item = JSON_UNQUOTE(JSON_EXTRACT(p_lines, CONCAT('$[', i, '].item_id')));
        SET v_qty = CAST(JSON_EXTRACT(p_lines, CONCAT('$[', i, '].quantity')) AS SIGNED);
        -- A delisted item is never taken (the API refuses it earlier; this closes the race with a delisting).
        UPDATE items SET stock = stock - v_qty, ever_ordered = 1, updated_at = NOW(3)
         WHERE item_id = v_item AND stock >= v_qty AND listed = 1;
        IF ROW_COUNT() = 0 THEN
          SET v_short = JSON_ARRAY_APPEND(COALESCE(v_short, JSON_ARRAY()), '$', v_item);
        END IF;
        SET i = i + 1;
      END WHILE;
      IF v_short IS NULL THEN
        COMMIT;
      END IF;
      SELECT v_short AS short_items;
    END`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP PROCEDURE IF EXISTS take_stock_and_commit');
}

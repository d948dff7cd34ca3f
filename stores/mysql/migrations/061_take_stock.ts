import type { Knex } from 'knex';
import { itemIdVariableType, up as upTakeStockAndCommit } from './060_take_stock_and_commit';

/**
 * `take_stock(lines, do_commit)`: the one place where stock is taken for orders (stock/levels.ts takeStock and
 * takeStockAndCommit both call it). Before, the conditional UPDATE was written twice, in TypeScript for the late
 * payment's step and in migration 060's procedure for the reservation; a change to the rule (never below zero, a
 * delisted item never taken) had to be made in both.
 *
 * `lines` is a JSON array of {item_id, quantity} in item_id order (the fixed lock order). Every line is tried. With
 * `do_commit`, the transaction is committed in the same round trip when every line was taken (the reservation's last
 * step: the hot rows stay locked only inside the server); without it, nothing is committed and the caller goes on
 * writing in its transaction. The one row it returns names the items it could not take (`short_items`, a JSON
 * array, or NULL); then nothing was committed and the caller rolls back.
 *
 * `take_stock_and_commit` stays, as `take_stock(lines, TRUE)`, for a process of the previous build still running
 * while this migration is applied.
 */
export async function up(knex: Knex): Promise<void> {
  const itemIdType = await itemIdVariableType(knex);
  await knex.raw('DROP PROCEDURE IF EXISTS take_stock');
  await knex.raw(`
    CREATE PROCEDURE take_stock(IN p_lines LONGTEXT CHARACTER SET utf8mb4, IN p_commit BOOLEAN)
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
      IF p_commit AND v_short IS NULL THEN
        COMMIT;
      END IF;
      SELECT v_short AS short_items;
    END`);
  await knex.raw('DROP PROCEDURE IF EXISTS take_stock_and_commit');
  await knex.raw(`
    CREATE PROCEDURE take_stock_and_commit(IN p_lines LONGTEXT CHARACTER SET utf8mb4)
    MODIFIES SQL DATA
    BEGIN
      CALL take_stock(p_lines, TRUE);
    END`);
}

export async function down(knex: Knex): Promise<void> {
  await upTakeStockAndCommit(knex); // 060's own take_stock_and_commit again
  await knex.raw('DROP PROCEDURE IF EXISTS take_stock');
}

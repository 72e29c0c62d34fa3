import { describe, expect, it } from 'vitest';
import { applyDefiner, withoutDefiner } from '../../../../lib/engines/mysql/definer.ts';

const view = 'CREATE ALGORITHM=UNDEFINED DEFINER=`vedfolnir_app`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `DEFINER=x@y`';

describe('DEFINER handling', () => {
  it('rewrites the object\'s own DEFINER to the configured account and reports it', () => {
    const r = applyDefiner(view, 'view db.v', { mode: 'rewrite', account: '`root`@`%`' });
    expect(r.ddl).toBe('CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `DEFINER=x@y`');
    expect(r.rewrite).toEqual({ object: 'view db.v', from: '`vedfolnir_app`@`%`', to: '`root`@`%`' });
  });

  it('strips it, leaving text in the body alone', () => {
    const r = applyDefiner("CREATE DEFINER='app'@'localhost' PROCEDURE p() SELECT 'DEFINER=`a`@`b`'", 'procedure db.p', { mode: 'strip' });
    expect(r.ddl).toBe("CREATE PROCEDURE p() SELECT 'DEFINER=`a`@`b`'");
    expect(r.rewrite?.to).toBeNull();
  });

  it('reports nothing when the DEFINER already is the account, in any quoting', () => {
    expect(applyDefiner('CREATE DEFINER=`root`@`%` TRIGGER t AFTER INSERT ON x FOR EACH ROW SET @a = 1', 't', { mode: 'rewrite', account: "'root'@'%'" }).rewrite).toBeUndefined();
  });

  it('handles CURRENT_USER and unquoted accounts; a body DEFINER is not the object\'s', () => {
    expect(withoutDefiner('CREATE DEFINER=CURRENT_USER EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1')).toBe('CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1');
    expect(withoutDefiner('CREATE DEFINER=app@localhost FUNCTION f() RETURNS INT RETURN 1')).toBe('CREATE FUNCTION f() RETURNS INT RETURN 1');
    const table = "CREATE TABLE t (c VARCHAR(20) DEFAULT 'DEFINER=a@b')";
    expect(withoutDefiner(table)).toBe(table);
  });
});

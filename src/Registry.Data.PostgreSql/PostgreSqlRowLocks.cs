namespace Registry.Data.PostgreSql;

/// <summary>
/// Row locks taken by SELECT. Under read committed each statement sees what committed before it began,
/// so a transaction locks first and checks in a later statement.
/// </summary>
public sealed class PostgreSqlRowLocks : IRowLocks
{
    public string ForShare => " FOR SHARE";

    public string ForUpdate => " FOR UPDATE";
}

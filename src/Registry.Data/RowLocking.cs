using Microsoft.EntityFrameworkCore;

namespace Registry.Data;

/// <summary>Takes the row locks of <see cref="IRowLocks"/>: pushes hold rows shared, garbage collection exclusively.</summary>
public static class RowLocking
{
    /// <summary>
    /// Locks the rows of <paramref name="table"/> whose <paramref name="column"/> is one of <paramref name="keys"/>
    /// with <paramref name="clause"/> until the transaction ends; nothing to do where the clause is empty.
    /// </summary>
    public static async Task LockRowsAsync(this RegistryDbContext db, string clause, string table, string column, IReadOnlyList<object> keys, CancellationToken cancellationToken)
    {
        if (clause.Length == 0 || keys.Count == 0)
        {
            return;
        }

        // Table and column names are callers' constants; the keys go as parameters.
        var placeholders = string.Join(", ", keys.Select((_, i) => $"{{{i}}}"));
        var sql = $"""SELECT 1 FROM "{table}" WHERE "{column}" IN ({placeholders}){clause}""";
        await db.Database.ExecuteSqlRawAsync(sql, keys, cancellationToken);
    }
}

using System.Data.Common;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Registry.Data;

namespace Registry.Hosting;

/// <summary>Applies pending migrations: before the server takes requests, and for <c>registry migrate</c>.</summary>
internal sealed class DatabaseMigrator(IDbContextFactory<RegistryDbContext> dbFactory, DatabaseDescription database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Brings the schema up to date; an unreachable database is a <see cref="StartupException"/> that names it.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            if (db.Database.IsSqlite())
            {
                await Data.Sqlite.SqliteDatabase.ConfigureFileAsync(db, cancellationToken);
            }
        }
        catch (Exception e) when (e is DbException or SocketException or TimeoutException or InvalidOperationException { InnerException: DbException or SocketException })
        {
            throw new StartupException($"cannot use the metadata database ({database.Name}): {e.Message}", e);
        }
    }
}

/// <summary>Which metadata database this process uses, for messages (never with credentials).</summary>
internal sealed record DatabaseDescription(string Name);

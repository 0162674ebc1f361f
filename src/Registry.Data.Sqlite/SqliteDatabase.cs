using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using System.Data.Common;

namespace Registry.Data.Sqlite;

/// <summary>The embedded SQLite metadata store: options, connection settings and the migrations in this assembly.</summary>
public static class SqliteDatabase
{
    /// <summary>Configures <paramref name="builder"/> for the SQLite file at <paramref name="path"/>.</summary>
    public static DbContextOptionsBuilder UseRegistrySqlite(this DbContextOptionsBuilder builder, string path)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        return builder
            .UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(typeof(SqliteDatabase).Assembly.GetName().Name))
            .AddInterceptors(ConnectionSettings.Instance);
    }

    /// <summary>
    /// WAL lets readers proceed while one writer commits; synchronous=FULL makes every commit
    /// durable before the response that reports it; foreign keys are off by default in SQLite.
    /// </summary>
    private sealed class ConnectionSettings : DbConnectionInterceptor
    {
        public static readonly ConnectionSettings Instance = new();

        private const string Pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Apply(connection);
            return Task.CompletedTask;
        }

        private static void Apply(DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = Pragmas;
            command.ExecuteNonQuery();
        }
    }
}

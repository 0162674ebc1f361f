using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace Registry.Data.PostgreSql;

/// <summary>The PostgreSQL metadata store, for several stateless replicas over one database.</summary>
public static class PostgreSqlDatabase
{
    /// <summary>Configures <paramref name="builder"/> for the database at <paramref name="connectionString"/>.</summary>
    public static DbContextOptionsBuilder UseRegistryPostgreSql(this DbContextOptionsBuilder builder, string connectionString) =>
        builder
            .UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(typeof(PostgreSqlDatabase).Assembly.GetName().Name))
            .ReplaceService<IModelCustomizer, PostgreSqlModelCustomizer>();

    /// <summary>Where <paramref name="connectionString"/> points, for messages: host, port and database, never the password.</summary>
    public static string Describe(string connectionString)
    {
        var parsed = new NpgsqlConnectionStringBuilder(connectionString);
        return $"PostgreSQL at {parsed.Host}:{parsed.Port}, database '{parsed.Database}'";
    }
}

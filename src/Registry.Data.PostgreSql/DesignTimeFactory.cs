using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Registry.Data.PostgreSql;

/// <summary>Lets <c>dotnet ef migrations add</c> build the context for this provider (it does not connect).</summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<RegistryDbContext>
{
    public RegistryDbContext CreateDbContext(string[] args) =>
        new(((DbContextOptionsBuilder<RegistryDbContext>)new DbContextOptionsBuilder<RegistryDbContext>().UseRegistryPostgreSql("Host=localhost;Database=registry")).Options);
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Registry.Data.Sqlite;

/// <summary>Lets <c>dotnet ef migrations add</c> build the context for this provider.</summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<RegistryDbContext>
{
    public RegistryDbContext CreateDbContext(string[] args) =>
        new(((DbContextOptionsBuilder<RegistryDbContext>)new DbContextOptionsBuilder<RegistryDbContext>().UseRegistrySqlite("design-time.db")).Options);
}

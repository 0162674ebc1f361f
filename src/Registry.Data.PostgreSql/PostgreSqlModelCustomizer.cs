using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Registry.Data.Entities;

namespace Registry.Data.PostgreSql;

/// <summary>
/// PostgreSQL specifics of the shared model. Names that are paginated with <c>last</c> (repositories,
/// tags) compare in the "C" collation, byte order, as the distribution spec's lexical order and
/// SQLite do; a database created with a linguistic locale would otherwise sort "B" after "a".
/// </summary>
internal sealed class PostgreSqlModelCustomizer(ModelCustomizerDependencies dependencies) : RelationalModelCustomizer(dependencies)
{
    public override void Customize(ModelBuilder modelBuilder, DbContext context)
    {
        base.Customize(modelBuilder, context);
        modelBuilder.Entity<RepositoryEntity>().Property(r => r.Name).UseCollation("C");
        modelBuilder.Entity<TagEntity>().Property(t => t.Name).UseCollation("C");
    }
}

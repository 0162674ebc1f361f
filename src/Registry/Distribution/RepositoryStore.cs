using Microsoft.EntityFrameworkCore;
using Registry.Data;

namespace Registry.Distribution;

/// <summary>Looks repositories up by name and creates them on first push.</summary>
internal sealed class RepositoryStore(RegistryDbContext db, IWriteGate writes, TimeProvider clock)
{
    private static readonly CompiledQuery<Func<RegistryDbContext, string, Task<long>>> FindIdQuery =
        new(() => EF.CompileAsyncQuery((RegistryDbContext db, string name) =>
            db.Repositories.Where(r => r.Name == name).Select(r => r.Id).FirstOrDefault()));

    /// <summary>The repository's id, or null when nothing was ever pushed to it.</summary>
    public async Task<long?> FindIdAsync(string name)
    {
        var id = await FindIdQuery.For(db)(db, name);
        return id == 0 ? null : id;
    }

    /// <summary>The repository's id, creating the repository if needed; safe under concurrent first pushes.</summary>
    public async Task<long> EnsureAsync(string name, CancellationToken cancellationToken)
    {
        if (await FindIdAsync(name) is { } id)
        {
            return id;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await writes.RunAsync(
            () => db.Database.ExecuteSqlAsync(
                $"""INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ({name}, {now}) ON CONFLICT ("Name") DO NOTHING""",
                cancellationToken),
            cancellationToken);
        return await FindIdAsync(name) ?? throw new InvalidOperationException($"repository '{name}' vanished after creation");
    }
}

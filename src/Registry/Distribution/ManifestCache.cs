using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Registry.Core.Names;
using Registry.Hosting;

namespace Registry.Distribution;

/// <summary>
/// Manifests as recently served, by repository and reference, so that repeated pulls skip the
/// database. Every change to a repository's manifests or tags bumps that repository's generation,
/// which is part of each key: a reader that raced a writer can only store under the old generation,
/// which nobody reads again. Entries also expire after <see cref="RegistryOptions.ManifestCacheSeconds"/>,
/// which bounds staleness should another process write the same database.
/// </summary>
internal sealed class ManifestCache : IDisposable
{
    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = 64 * 1024 * 1024 });
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);
    private readonly TimeSpan _lifetime;

    public ManifestCache(IOptions<RegistryOptions> options) => _lifetime = TimeSpan.FromSeconds(options.Value.ManifestCacheSeconds ?? 60);

    private bool Enabled => _lifetime > TimeSpan.Zero;

    /// <summary>The key to read and later store under; taken before the database is read.</summary>
    public CacheKey KeyFor(string repository, Reference reference) =>
        new(repository, _generations.GetValueOrDefault(repository), reference.ToString());

    public bool TryGet(CacheKey key, out StoredManifest? manifest)
    {
        manifest = null;
        return Enabled && _entries.TryGetValue(key, out manifest) && manifest is not null;
    }

    public void Set(CacheKey key, StoredManifest manifest)
    {
        if (Enabled)
        {
            _entries.Set(key, manifest, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = _lifetime, Size = manifest.Content.Length + 256 });
        }
    }

    /// <summary>Forgets everything cached for <paramref name="repository"/>; call after committing a change to it.</summary>
    public void Invalidate(string repository) => _generations.AddOrUpdate(repository, 1, static (_, generation) => generation + 1);

    public void Dispose() => _entries.Dispose();

    internal readonly record struct CacheKey(string Repository, long Generation, string Reference);
}

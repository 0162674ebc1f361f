using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;

namespace Registry.Distribution;

/// <summary>
/// The running SHA-256 of uploads in progress, so each chunk is hashed once as it streams through.
/// Only a fast path: a state is used only when it covers exactly the session's acknowledged offset;
/// otherwise (restart, another replica took the previous chunk, a failed chunk) the caller re-hashes
/// the stored prefix.
/// </summary>
internal sealed class UploadHashCache : IDisposable
{
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(30);

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    /// <summary>Removes and returns the state for <paramref name="uploadId"/> if it has hashed exactly <paramref name="offset"/> bytes.</summary>
    public IncrementalHash? Take(string uploadId, long offset)
    {
        if (!_cache.TryGetValue(uploadId, out State? state) || state is null)
        {
            return null;
        }

        _cache.Remove(uploadId);
        if (state.Offset == offset)
        {
            return state.Hash;
        }

        state.Hash.Dispose();
        return null;
    }

    /// <summary>Keeps <paramref name="hash"/> as the state of an upload that has hashed <paramref name="offset"/> bytes.</summary>
    public void Put(string uploadId, long offset, IncrementalHash hash)
    {
        var options = new MemoryCacheEntryOptions { SlidingExpiration = IdleLifetime, Size = 1 };
        options.RegisterPostEvictionCallback(static (_, value, reason, _) =>
        {
            // A taken state is in use by its taker; only states dropped by the cache are ours to free.
            if (reason != EvictionReason.Removed && value is State dropped)
            {
                dropped.Hash.Dispose();
            }
        });
        _cache.Set(uploadId, new State(hash, offset), options);
    }

    public void Forget(string uploadId) => Take(uploadId, -1);

    public void Dispose() => _cache.Dispose();

    private sealed record State(IncrementalHash Hash, long Offset);
}

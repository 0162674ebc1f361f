using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Data.Entities;

namespace Registry.Auth;

/// <summary>
/// Users and password checks. The slow KDF runs once per user and password: a successful check is
/// remembered for a few minutes as a keyed hash under a per-process key, so clients that send
/// Basic credentials on every request (or fetch a token per repository) do not pay it each time.
/// Concurrent checks of one user and password share a single KDF run (a client opening 64
/// connections at once would otherwise pay it 64 times), and at most one KDF runs per core, so a
/// flood of wrong passwords queues instead of blocking every thread-pool thread.
/// </summary>
internal sealed class UserStore(IDbContextFactory<RegistryDbContext> dbFactory, ICommitDurability durability, TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(5);
    private static readonly byte[] CacheKey = RandomNumberGenerator.GetBytes(32);

    private readonly ConcurrentDictionary<string, VerifiedPassword> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<bool>>> _checking = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _kdfSlots = new(Environment.ProcessorCount);

    public async Task<bool> VerifyAsync(string name, string password, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var stored = await db.Users.Where(u => u.Name == name).Select(u => u.PasswordHash).FirstOrDefaultAsync(cancellationToken);
        if (string.IsNullOrEmpty(stored))
        {
            // No such user, or a user who signs in only with access keys.
            return false;
        }

        var fingerprint = HMACSHA256.HashData(CacheKey, Encoding.UTF8.GetBytes(stored + "\n" + password));
        var now = clock.GetUtcNow();
        if (_verified.TryGetValue(name, out var remembered) && remembered.Expires > now && CryptographicOperations.FixedTimeEquals(remembered.Fingerprint, fingerprint))
        {
            return true;
        }

        var key = name + "\n" + Convert.ToBase64String(fingerprint);
        var check = _checking.GetOrAdd(key, _ => new Lazy<Task<bool>>(() => CheckAsync(name, password, stored, fingerprint)));
        try
        {
            return await check.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            _checking.TryRemove(new KeyValuePair<string, Lazy<Task<bool>>>(key, check));
        }
    }

    /// <summary>The slow check itself, shared by every request that asked while it ran; not cancelled by any one of them.</summary>
    private async Task<bool> CheckAsync(string name, string password, string stored, byte[] fingerprint)
    {
        // Off the caller's thread at once: the Lazy above must hand out the task without running the KDF inside it.
        await Task.Yield();
        await _kdfSlots.WaitAsync(CancellationToken.None);
        try
        {
            if (!PasswordHasher.Verify(password, stored))
            {
                return false;
            }
        }
        finally
        {
            _kdfSlots.Release();
        }

        _verified[name] = new VerifiedPassword(fingerprint, clock.GetUtcNow() + RememberFor);
        return true;
    }

    /// <summary>Creates a user; false when the name is taken.</summary>
    public async Task<bool> CreateAsync(string name, string password, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await db.Users.AnyAsync(u => u.Name == name, cancellationToken))
        {
            return false;
        }

        db.Users.Add(new UserEntity { Name = name, PasswordHash = PasswordHasher.Hash(password), CreatedAt = clock.GetUtcNow().UtcDateTime });
        await db.SaveChangesAsync(cancellationToken);
        await durability.EnsureDurableAsync(cancellationToken);
        return true;
    }

    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.AnyAsync(cancellationToken);
    }

    public void Dispose() => _kdfSlots.Dispose();

    private sealed record VerifiedPassword(byte[] Fingerprint, DateTimeOffset Expires);
}

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
/// </summary>
internal sealed class UserStore(IDbContextFactory<RegistryDbContext> dbFactory, ICommitDurability durability, TimeProvider clock)
{
    private static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(5);
    private static readonly byte[] CacheKey = RandomNumberGenerator.GetBytes(32);

    private readonly ConcurrentDictionary<string, VerifiedPassword> _verified = new(StringComparer.Ordinal);

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

        if (!PasswordHasher.Verify(password, stored))
        {
            return false;
        }

        _verified[name] = new VerifiedPassword(fingerprint, now + RememberFor);
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

    private sealed record VerifiedPassword(byte[] Fingerprint, DateTimeOffset Expires);
}

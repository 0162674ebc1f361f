using System.Security.Cryptography;
using System.Text.Json;
using Registry.Security.Secrets;

namespace Registry.Iam;

/// <summary>Temporary credentials for a role, as STS hands them out: the key id, its secret, the session token, and when they expire.</summary>
internal sealed record RoleCredentials(string RoleName, string AccessKeyId, string SecretAccessKey, string SessionToken, DateTimeOffset Expiration);

/// <summary>A role session a request is signed by: who it acts as, and the secret that signs for it.</summary>
internal sealed record RoleSession(string RoleName, string SessionName, string Secret, DateTimeOffset Expiration)
{
    /// <summary>The name the session signs in with (<see cref="PrincipalNames.AssumedRole"/>).</summary>
    public string PrincipalName => PrincipalNames.AssumedRole(RoleName, SessionName);
}

/// <summary>
/// Issues and checks a role's temporary credentials (task roles): an <c>ASIA…</c> key id, a secret, and
/// a session token that carries the role, the session and the secret sealed with the registry's
/// secrets key and bound to the key id. Any replica sharing that key checks them without a database
/// row, and nothing can be read or changed in a token without the key.
/// </summary>
internal sealed class RoleSessions(SecretSealer sealer, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private const string KeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public RoleCredentials Issue(string roleName, string sessionName)
    {
        var accessKeyId = "ASIA" + RandomNumberGenerator.GetString(KeyAlphabet, 16);
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30));
        var expiration = clock.GetUtcNow() + Lifetime;
        var token = sealer.Seal(JsonSerializer.Serialize(new Sealed(roleName, sessionName, secret, expiration.ToUnixTimeSeconds())), accessKeyId);
        return new RoleCredentials(roleName, accessKeyId, secret, token, expiration);
    }

    /// <summary>The session a key id and token stand for; null when the token is not one of ours for that key id, or has expired.</summary>
    public RoleSession? Open(string accessKeyId, string sessionToken, out bool expired)
    {
        expired = false;
        Sealed? session;
        try
        {
            session = JsonSerializer.Deserialize<Sealed>(sealer.Open(sessionToken, accessKeyId));
        }
        catch (Exception e) when (e is CryptographicException or FormatException or JsonException)
        {
            return null;
        }

        if (session is null)
        {
            return null;
        }

        var expiration = DateTimeOffset.FromUnixTimeSeconds(session.Expires);
        expired = expiration <= clock.GetUtcNow();
        return expired ? null : new RoleSession(session.Role, session.Session, session.Secret, expiration);
    }

    private sealed record Sealed(string Role, string Session, string Secret, long Expires);
}

/// <summary>
/// How principals are named inside the registry: a user by its name; a role session as
/// <c>assumed-role/&lt;role&gt;/&lt;session&gt;</c>, which no user name can be (user names have no slash).
/// </summary>
internal static class PrincipalNames
{
    private const string AssumedRolePrefix = "assumed-role/";

    public static string AssumedRole(string roleName, string sessionName) => $"{AssumedRolePrefix}{roleName}/{sessionName}";

    /// <summary>The role of a role session's name; false for a user's name.</summary>
    public static bool TryGetRole(string principalName, out string roleName)
    {
        roleName = "";
        if (!principalName.StartsWith(AssumedRolePrefix, StringComparison.Ordinal) || principalName.IndexOf('/', AssumedRolePrefix.Length) is var slash && slash < 0)
        {
            return false;
        }

        roleName = principalName[AssumedRolePrefix.Length..slash];
        return true;
    }
}

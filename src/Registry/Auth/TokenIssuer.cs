using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Registry.Auth;

/// <summary>
/// Issues the Docker registry token spec's JWTs (https://distribution.github.io/distribution/spec/auth/jwt/):
/// ES256, audience = service, an <c>access</c> claim listing the granted resources and actions.
/// The signing key is a PEM file shared by all replicas.
/// </summary>
internal sealed class TokenIssuer
{
    public const string AccessClaim = "access";

    private readonly AuthOptions _options;
    private readonly TimeProvider _clock;
    private readonly JsonWebTokenHandler _handler = new();

    public TokenIssuer(IOptions<AuthOptions> options, SigningKey signingKey, TimeProvider clock)
    {
        _options = options.Value;
        _clock = clock;
        Credentials = new SigningCredentials(signingKey.Key, SecurityAlgorithms.EcdsaSha256);
    }

    public SigningCredentials Credentials { get; }

    public (string Token, DateTimeOffset IssuedAt, TimeSpan Lifetime) Issue(string? subject, IReadOnlyList<AccessScope> granted)
    {
        var now = _clock.GetUtcNow();
        var access = granted.Select(g => new Dictionary<string, object> { ["type"] = g.Type, ["name"] = g.Name, ["actions"] = g.Actions }).ToList();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Service,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime.AddSeconds(-1),
            Expires = (now + _options.TokenLifetime).UtcDateTime,
            SigningCredentials = Credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject ?? "",
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                [AccessClaim] = access,
            },
        };
        return (_handler.CreateToken(descriptor), now, _options.TokenLifetime);
    }

    /// <summary>The resources and actions a validated token grants, read from its <c>access</c> claims.</summary>
    public static IEnumerable<AccessScope> ReadAccess(ClaimsPrincipal principal)
    {
        foreach (var claim in principal.FindAll(AccessClaim))
        {
            AccessScope? scope = null;
            try
            {
                using var json = JsonDocument.Parse(claim.Value);
                var root = json.RootElement;
                if (root.ValueKind == JsonValueKind.Object
                    && root.TryGetProperty("type", out var type) && root.TryGetProperty("name", out var name) && root.TryGetProperty("actions", out var actions)
                    && actions.ValueKind == JsonValueKind.Array)
                {
                    scope = new AccessScope(type.GetString() ?? "", name.GetString() ?? "", actions.EnumerateArray().Select(a => a.GetString() ?? "").ToList());
                }
            }
            catch (JsonException)
            {
                // A token we signed always has well-formed access entries; anything else grants nothing.
            }

            if (scope is not null)
            {
                yield return scope;
            }
        }
    }
}

/// <summary>The token signing key, loaded from (or created at) its PEM file.</summary>
internal sealed class SigningKey
{
    public SigningKey(string path)
    {
        var ecdsa = ECDsa.Create();
        if (File.Exists(path))
        {
            ecdsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            ecdsa.GenerateKey(ECCurve.NamedCurves.nistP256);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var pem = ecdsa.ExportPkcs8PrivateKeyPem();
            using (var stream = Hosting.OwnerOnlyFile.Create(path, FileMode.CreateNew))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(pem);
            }
        }

        Key = new ECDsaSecurityKey(ecdsa) { KeyId = Convert.ToHexStringLower(SHA256.HashData(ecdsa.ExportSubjectPublicKeyInfo()))[..16] };
    }

    public ECDsaSecurityKey Key { get; }
}

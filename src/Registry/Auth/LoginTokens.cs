using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Registry.Auth;

/// <summary>
/// The password ECR's GetAuthorizationToken hands out (<c>AWS:&lt;password&gt;</c>, valid 12 hours): a
/// JWT naming the user, signed with the token key but for its own audience, so it is accepted only
/// as a Basic password for the user <c>AWS</c>, never as a bearer token, and a bearer token never as it.
/// </summary>
internal sealed class LoginTokens(IOptions<AuthOptions> options, SigningKey signingKey, TimeProvider clock) : IDisposable
{
    public const string LoginUser = "AWS";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly CachingTokenHandler _handler = new(clock);

    private string Audience => options.Value.Service + "/login";

    /// <summary>A login for <paramref name="userName"/>, valid 12 hours or until <paramref name="notAfter"/> when that is sooner (a role session's end).</summary>
    public (string Password, DateTimeOffset ExpiresAt) Issue(string userName, DateTimeOffset? notAfter = null)
    {
        var now = clock.GetUtcNow();
        var expires = notAfter is { } end && end < now + Lifetime ? end : now + Lifetime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime.AddSeconds(-1),
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(signingKey.Key, SecurityAlgorithms.EcdsaSha256),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = userName,
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            },
        };
        return (new JsonWebTokenHandler().CreateToken(descriptor), expires);
    }

    /// <summary>The user a login password names, or null when it is not a valid, unexpired one.</summary>
    public async Task<string?> ValidateAsync(string password)
    {
        var result = await _handler.ValidateTokenAsync(password, new TokenValidationParameters
        {
            ValidIssuer = options.Value.Issuer,
            ValidAudience = Audience,
            IssuerSigningKey = signingKey.Key,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } end && end > clock.GetUtcNow().UtcDateTime && (notBefore is null || notBefore <= clock.GetUtcNow().UtcDateTime.AddSeconds(30)),
        });
        return result.IsValid && result.SecurityToken is JsonWebToken jwt && jwt.Subject is { Length: > 0 } subject ? subject : null;
    }

    public void Dispose() => _handler.Dispose();
}

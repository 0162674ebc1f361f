using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Registry.Auth;

/// <summary>
/// JwtBearer's token handler with a memory of tokens it has already validated: clients send the
/// same token on every request until it expires, and an ES256 signature check per request would
/// cost more than serving a manifest. Only valid results are kept, and never past the token's expiry.
/// </summary>
internal sealed class CachingTokenHandler(TimeProvider clock) : JsonWebTokenHandler, IDisposable
{
    private readonly MemoryCache _validated = new(new MemoryCacheOptions { SizeLimit = 50_000 });

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_validated.TryGetValue(token, out TokenValidationResult? remembered) && remembered is not null)
        {
            return remembered;
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken jwt && jwt.ValidTo > clock.GetUtcNow().UtcDateTime)
        {
            _validated.Set(token, result, new MemoryCacheEntryOptions { AbsoluteExpiration = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), Size = 1 });
        }

        return result;
    }

    public void Dispose() => _validated.Dispose();
}

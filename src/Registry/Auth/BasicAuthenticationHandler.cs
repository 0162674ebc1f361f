using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Registry.Auth;

/// <summary>HTTP Basic credentials (a user's password, or <c>AWS</c> and an ECR authorization token), on <c>/v2</c> and at <c>/token</c>.</summary>
internal sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    PasswordSignIn signIn)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, SchemeName, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        if (!TryDecode(header.Parameter, out var name, out var password))
        {
            return AuthenticateResult.Fail("malformed Basic credentials");
        }

        // The user AWS signs in with a password from GetAuthorizationToken, which names the real user.
        if (await signIn.SignInAsync(name, password, Context.RequestAborted) is not { } signedIn)
        {
            return AuthenticateResult.Fail("invalid username or password");
        }

        name = signedIn;

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private static bool TryDecode(string? parameter, out string name, out string password)
    {
        name = password = "";
        if (string.IsNullOrEmpty(parameter))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(parameter));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        name = decoded[..colon];
        password = decoded[(colon + 1)..];
        return true;
    }
}

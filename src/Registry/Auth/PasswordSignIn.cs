namespace Registry.Auth;

/// <summary>
/// Checks a user name and password as Basic credentials and the token endpoint's password grant take
/// them: a user's own password, or the user <c>AWS</c> with a password from ECR's GetAuthorizationToken.
/// </summary>
internal sealed class PasswordSignIn(UserStore users, LoginTokens loginTokens)
{
    /// <summary>The signed-in user's name, or null when the credentials are wrong.</summary>
    public async Task<string?> SignInAsync(string name, string password, CancellationToken cancellationToken)
    {
        if (name == LoginTokens.LoginUser)
        {
            return await loginTokens.ValidateAsync(password);
        }

        return await users.VerifyAsync(name, password, cancellationToken) ? name : null;
    }
}

<p class="lead">A Slim 3 application, Debian's php-slim, run by php-fpm behind the lambda-fpm bootstrap.</p>
<p><img src="/logo.svg" alt="logo" width="120" height="120"></p>

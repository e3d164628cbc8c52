<?php
// A small Slim 3 app: routes, plain PHP views, a login form with a CSRF token kept in the PHP session.
require __DIR__ . '/../vendor/autoload.php';

use Slim\Http\Request;
use Slim\Http\Response;

session_start();
if (empty($_SESSION['csrf'])) {
    $_SESSION['csrf'] = bin2hex(random_bytes(16));
}

function render(Response $response, string $template, array $vars = [], int $status = 200): Response
{
    extract($vars);
    ob_start();
    require __DIR__ . '/../templates/' . $template . '.php';
    $content = ob_get_clean();
    ob_start();
    require __DIR__ . '/../templates/layout.php';
    $response->getBody()->write(ob_get_clean());
    return $response->withStatus($status)->withHeader('Content-Type', 'text/html; charset=utf-8');
}

$container = new \Slim\Container(['settings' => ['displayErrorDetails' => false]]);
$container['notFoundHandler'] = function () {
    return function (Request $request, Response $response) {
        return render($response, 'notfound', ['title' => 'Page not found'], 404);
    };
};
$app = new \Slim\App($container);

$app->get('/', function (Request $request, Response $response) {
    return render($response, 'home', ['title' => 'Slim on lambda-fpm']);
});
$app->get('/login', function (Request $request, Response $response) {
    return render($response, 'login', ['title' => 'Log in', 'csrf' => $_SESSION['csrf']]);
});
$app->post('/login', function (Request $request, Response $response) {
    $token = (string) $request->getParsedBodyParam('_csrf', '');
    if (!hash_equals($_SESSION['csrf'], $token)) {
        return render($response, 'notfound', ['title' => 'Invalid CSRF token'], 403);
    }
    $name = trim((string) $request->getParsedBodyParam('name', ''));
    if ($name === '') {
        return $response->withRedirect('/login', 302);
    }
    // A new session id on login (session fixation), so the answer sets a new cookie.
    session_regenerate_id(true);
    $_SESSION['name'] = $name;
    return $response->withRedirect('/hello', 302);
});
$app->get('/hello', function (Request $request, Response $response) {
    if (empty($_SESSION['name'])) {
        return $response->withRedirect('/login', 302);
    }
    return render($response, 'hello', ['title' => 'Hello', 'name' => $_SESSION['name']]);
});
$app->get('/old-home', function (Request $request, Response $response) {
    return $response->withRedirect('/', 301);
});

$app->run();

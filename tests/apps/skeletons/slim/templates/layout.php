<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title><?= htmlspecialchars($title) ?></title>
<link rel="stylesheet" href="/css/app.css">
</head>
<body>
<header class="banner"><h1><?= htmlspecialchars($title) ?></h1><nav><a href="/">Home</a> <a href="/login">Log in</a></nav></header>
<main><?= $content ?></main>
<footer>Served by lambda-fpm</footer>
</body>
</html>

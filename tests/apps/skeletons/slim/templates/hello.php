<p class="welcome">Welcome, <?= htmlspecialchars($name) ?>!</p>

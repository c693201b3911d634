import styles from "./catalogue.module.css";

export default function LoadingCatalogue() {
  return (
    <main className={styles.main}>
      <h1>Dataset catalogue</h1>
      <p className="muted" aria-busy="true" role="status">
        Loading the catalogue…
      </p>
    </main>
  );
}
